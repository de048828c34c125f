#!/usr/bin/env bash
# Creates (once) the Spark job's Python environment: pyspark and numpy, pinned, and makes sure
# a Java runtime is there for it (installing Debian's when running as root). Prints the
# absolute path of the environment's spark-submit; everything else goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.build/spark-venv
PACKAGES="pyspark==3.5.3 numpy==1.26.4"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import pyspark, numpy" 2>/dev/null; then
  echo "setting up $VENV ($PACKAGES)" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet $PACKAGES >&2
fi
if ! java -version >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing openjdk-17-jre-headless (Spark needs Java 8, 11 or 17)" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >&2
  else
    echo "spark/venv.sh: no working 'java': install a Java 17 runtime (Debian/Ubuntu: openjdk-17-jre-headless) or set JAVA_HOME" >&2
    exit 1
  fi
fi
# A spark-submit that works without activating the venv: this venv's pyspark as SPARK_HOME and
# its Python for the driver and the workers (the venv's bin/spark-submit looks for pyspark with
# whatever python3 comes first on PATH).
WRAPPER="$VENV/bin/unfold-spark-submit"
SPARK_HOME_DIR=$("$VENV/bin/python" -c "import os, pyspark; print(os.path.dirname(pyspark.__file__))")
{
  echo '#!/usr/bin/env bash'
  echo "export SPARK_HOME='$SPARK_HOME_DIR'"
  echo "export PYSPARK_PYTHON='$PWD/$VENV/bin/python' PYSPARK_DRIVER_PYTHON='$PWD/$VENV/bin/python'"
  echo 'exec "$SPARK_HOME/bin/spark-submit" "$@"'
} > "$WRAPPER"
chmod +x "$WRAPPER"
echo "$PWD/$WRAPPER"
