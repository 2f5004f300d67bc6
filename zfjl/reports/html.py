"""The report as one self-contained HTML page: tables and inline SVG charts."""

from __future__ import annotations

from typing import Any

from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

# Sandboxed and escaped as every template is: the page shows names a clerk typed.
PAGE = SandboxedEnvironment(autoescape=True).from_string(
    """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{{ r.bureau }}{{ title }}（{{ w.period_words(r) }}）</title>
<style>
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{text-align:center;font-size:1.6em}h2{border-bottom:2px solid #2f6ea3;padding-bottom:.2em}
table{border-collapse:collapse;width:100%;margin:.6em 0 1.4em}th,td{border:1px solid #999;padding:.25em .5em;font-size:.9em}
th{background:#eef3f8}td.n{text-align:right;font-variant-numeric:tabular-nums}.chart svg{max-width:100%;height:auto}
.note{color:#555;font-size:.85em}
</style></head><body>
<h1>{{ r.bureau }}<br>{{ title }}</h1>
<p style="text-align:center">（{{ w.period_words(r) }}）</p>
{% if r.get("number") %}<p style="text-align:center">{{ r.number }}</p>{% endif %}
<p class="note">{{ w.basis_line(r) }}</p>
<h2>一、总体情况</h2>
<p>{{ w.summary(r) }}</p>
<div class="chart">{{ charts.hours_per_day }}</div>
<h2>二、各单位情况</h2>
<table><tr><th>单位</th>{% for k, label in labels.items() %}<th>{{ label }}</th>{% endfor %}<th>抽查结果</th></tr>
{% for u in r.units %}<tr><td>{{ u.unit }}</td>{% for k in labels %}<td class="n">{{ u[k] }}</td>{% endfor %}
<td>{{ w.spot_words(u.spotchecks) }}</td></tr>
{% endfor %}</table>
<div class="chart">{{ charts.late_per_unit }}</div>
<h2>三、案件违反条款</h2>
<div class="chart">{{ charts.violations_per_article }}</div>
<table><tr><th>条款</th><th>违反案件数</th></tr>{% for a, n in r.violations_by_article.items() %}<tr><td>{{ a }}</td><td class="n">{{ n }}</td></tr>{% endfor %}</table>
<h2>四、待办事项（尚未到期，不计为违反）</h2>
{% if r.pending %}<table><tr><th>案件</th><th>事项</th><th>条款</th><th>到期日</th></tr>
{% for p in r.pending %}<tr><td>{{ p.case }}</td><td>{{ p.title }}</td><td>{{ p.article }}</td><td>{{ w.chinese_day(p.due) if p.due else "下一环节或结案前" }}</td></tr>
{% endfor %}</table>{% else %}<p>无</p>{% endif %}
<h2>五、各执法人员</h2>
<table><tr><th>人员</th><th>单位</th><th>录制件数</th><th>时长（小时）</th><th>逾期存储</th><th>时钟偏差</th></tr>
{% for o in r.officers %}<tr><td>{{ o.officer }}</td><td>{{ o.unit }}</td><td class="n">{{ o.recordings }}</td><td class="n">{{ o.hours }}</td><td class="n">{{ o.late_uploads }}</td><td class="n">{{ o.clock_skew }}</td></tr>
{% endfor %}</table>
<h2>六、各记录仪</h2>
<table><tr><th>设备</th><th>单位</th><th>录制件数</th><th>时长（小时）</th><th>逾期存储</th><th>时钟偏差</th><th>使用人数</th><th>期间故障</th></tr>
{% for d in r.devices %}<tr><td>{{ d.device }}</td><td>{{ d.unit }}</td><td class="n">{{ d.recordings }}</td><td class="n">{{ d.hours }}</td><td class="n">{{ d.late_uploads }}</td><td class="n">{{ d.clock_skew }}</td><td class="n">{{ d.officers }}</td><td>{{ d.get("fault") or ("是" if d.fault_in_period else "") }}{% if not d.registered %}（未登记）{% endif %}</td></tr>
{% endfor %}</table>
</body></html>
"""
)

LABELS = {
    "recordings": "录制件数", "hours": "时长（小时）", "late_uploads": "逾期存储",
    "clock_skew": "时钟偏差", "devices": "登记记录仪", "devices_unregistered": "未登记记录仪",
    "devices_in_fault": "期间故障设备",
    "cases_opened": "立案数", "cases_open": "办理中", "cases_with_violations": "有违反的案件",
}  # fmt: skip


def render_html(report: dict[str, Any], charts: dict[str, str], number: str | None = None) -> str:
    if number:
        report = {**report, "number": number}
    safe = {k: Markup(v) for k, v in charts.items()}  # our own SVG, drawn just now
    from zfjl.reports import wording

    return str(PAGE.render(r=report, charts=safe, labels=LABELS, title=wording.TITLE, w=wording))
