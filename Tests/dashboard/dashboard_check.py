"""Drives the dashboard in headless Chromium: what it shows, a retrain started from it, try-it.

Usage: python dashboard_check.py PORT SCREENSHOT
"""
import json
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.ui import WebDriverWait

PORT, SCREENSHOT = int(sys.argv[1]), sys.argv[2]
BASE = f"http://127.0.0.1:{PORT}"

options = Options()
options.binary_location = "/usr/bin/chromium"
for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,1800"]:
    options.add_argument(flag)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
# The page redraws its tables every few seconds: an element found may be gone a moment later.
wait = WebDriverWait(driver, 30, ignored_exceptions=[StaleElementReferenceException])


def count(selector):
    return driver.execute_script("return document.querySelectorAll(arguments[0]).length", selector)


def some_row(selector, key, value, text=""):
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].some(r => r.dataset[arguments[1]] === arguments[2] && r.textContent.includes(arguments[3]))",
        selector, key, value, text)
try:
    started = time.time()
    driver.get(BASE + "/admin/ui")
    wait.until(lambda d: count("tr.version") >= 20)
    wait.until(lambda d: count("#curve path.series") >= 1)
    wait.until(lambda d: count("#spectrum rect") >= 1)
    wait.until(lambda d: count("tr.job") == 50)
    rendered = time.time() - started
    assert "of 1000" in driver.find_element(By.ID, "jobs-count").text, driver.find_element(By.ID, "jobs-count").text
    assert count("tr.version") == 20, count("tr.version")
    states = set(driver.execute_script("return [...document.querySelectorAll('tr.version .badge')].map(b => b.textContent)"))
    assert "active" in states, states
    # A version's details: the curve's epochs and the evaluation.
    details = driver.find_element(By.ID, "details-kv").text
    assert "ndcg@10" in details and "recipe" in details, details
    # Show more jobs, then a job's log.
    driver.find_element(By.ID, "jobs-more").click()
    wait.until(lambda d: count("tr.job") == 100)
    driver.find_element(By.CSS_SELECTOR, "tr.job a.log").click()
    wait.until(lambda d: "line of job" in d.find_element(By.ID, "job-log").text or "job-" in d.find_element(By.ID, "job-log").text)

    # A retrain from the page: the recipe of the served version, two parameters overridden.
    driver.find_element(By.ID, "rt-params").send_keys('{"factors": 8, "iterations": 3, "seed": 99}')
    driver.find_element(By.ID, "rt-submit").click()
    wait.until(EC.alert_is_present()).accept()
    result = wait.until(lambda d: (lambda t: t if t.startswith("started job-") else False)(d.find_element(By.ID, "rt-result").text))
    job = result.split()[1]
    wait = WebDriverWait(driver, 90, ignored_exceptions=[StaleElementReferenceException])
    wait.until(lambda d: some_row("tr.job", "job", job, "succeeded"))
    record = json.load(urllib.request.urlopen(f"{BASE}/admin/jobs/{job}"))
    version = record["snapshot_version"]
    wait.until(lambda d: some_row("tr.version", "version", str(version)))

    # Try it: recommendations with titles.
    driver.find_element(By.ID, "try-items").send_keys("i1, i2")
    driver.find_element(By.ID, "try-go").click()
    wait.until(lambda d: count("#try-result tbody tr") == 10)
    assert "Film number" in driver.find_element(By.ID, "try-result").text
    # Live traffic: after two scrapes the table has the model's row.
    wait.until(lambda d: "wals" in d.find_element(By.ID, "traffic-models").text)
    assert driver.find_element(By.ID, "problem").text == "", driver.find_element(By.ID, "problem").text
    driver.execute_script("window.scrollTo(0, 0); document.querySelectorAll('.scroll').forEach((e) => e.scrollTop = 0);")
    time.sleep(0.3)
    driver.save_screenshot(SCREENSHOT)
    print(f"dashboard: 20 versions and 1000 jobs rendered in {rendered:.2f} s; retrain {job} succeeded from the page and its version {version} shows; try-it answered with titles; screenshot {SCREENSHOT}")
finally:
    driver.quit()
