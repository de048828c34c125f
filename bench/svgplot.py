"""Dependency-free SVG line charts for the experiment report."""
import math

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939"]
DASHES = ["", "6,3", "2,2", "8,3,2,3"]


def _chart(path, title, series, xlabel, ylabel, log_y=False):
    width, height, left, right, top, bottom = 900, 480, 70, 290, 40, 50
    pw, ph = width - left - right, height - top - bottom
    points = [(x, y) for _, ys in series for x, y in enumerate(ys, 1) if y is not None and (not log_y or y > 0)]
    if not points:
        return
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1 = 1, max(max(xs), 2)
    if log_y:
        y0, y1 = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
        y1 = max(y1, y0 + 1)
    else:
        y0, y1 = min(ys), max(ys)
        pad = (y1 - y0) * 0.05 or 0.05
        y0, y1 = y0 - pad, y1 + pad

    def px(x):
        return left + (x - x0) / (x1 - x0) * pw

    def py(y):
        v = math.log10(y) if log_y else y
        return top + (1 - (v - y0) / (y1 - y0)) * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="22" font-size="14">{title}</text>',
           f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>']
    for k in range(6):
        if log_y:
            steps = int(y1 - y0)
            if k > steps:
                break
            v = y0 + k
            y = top + (1 - k / steps) * ph
            label = f"1e{v}"
        else:
            v = y0 + (y1 - y0) * k / 5
            y = top + (1 - k / 5) * ph
            label = f"{v:.3g}"
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
    for k in range(6):
        x = x0 + (x1 - x0) * k / 5
        out.append(f'<text x="{px(x):.1f}" y="{top + ph + 18}" text-anchor="middle">{x:.0f}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 10}" text-anchor="middle">{xlabel}</text>')
    out.append(f'<text x="16" y="{top + ph / 2}" text-anchor="middle" transform="rotate(-90 16 {top + ph / 2})">{ylabel}</text>')
    for i, (name, values) in enumerate(series):
        color, dash = COLORS[i % len(COLORS)], DASHES[(i // len(COLORS)) % len(DASHES) if len(series) <= len(COLORS) else i % len(DASHES)]
        pts = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in enumerate(values, 1) if y is not None and (not log_y or y > 0))
        if pts:
            out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="1.8" stroke-dasharray="{dash}"/>')
        ly = top + 10 + i * 18
        out.append(f'<line x1="{left + pw + 12}" y1="{ly}" x2="{left + pw + 36}" y2="{ly}" stroke="{color}" stroke-width="2" stroke-dasharray="{dash}"/>')
        out.append(f'<text x="{left + pw + 42}" y="{ly + 4}">{name}</text>')
    out.append("</svg>")
    open(path, "w").write("\n".join(out) + "\n")


def curves(path, title, series, xlabel, ylabel):
    _chart(path, title, series, xlabel, ylabel)


def spectra(path, title, series):
    """Singular values, each normalized to its largest, on a log scale."""
    normalized = [(name, [v / values[0] for v in values] if values and values[0] > 0 else []) for name, values in series]
    _chart(path, title, normalized, "index", "singular value / largest", log_y=True)
