/**
 * The UI's whole stylesheet, embedded (served at /ui/app.css): no CDN, no build step.
 * Colours keep at least 4.5:1 contrast for text (WCAG AA); state colours carry white text.
 */
export const STYLES = `
:root { --fg:#1b1f24; --muted:#57606a; --bg:#ffffff; --panel:#f6f8fa; --line:#d0d7de; --link:#0a58ca; --focus:#bf4b00;
  --success:#1a7f37; --failed:#c62828; --running:#0a58ca; --retrying:#a84f00; --cancelled:#57606a; --scheduled:#7a5c00;
  --pending:#6e7781; --mapped:#0e7490; --skipped:#4d7c0f; --paused:#5b4fc4; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--fg); background:var(--bg); }
a { color:var(--link); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, summary:focus-visible, textarea:focus-visible
  { outline:3px solid var(--focus); outline-offset:2px; }
header.top { display:flex; gap:1.5rem; align-items:center; padding:.6rem 1.2rem; background:#1b1f24; color:#fff; }
header.top .brand { font-weight:700; color:#fff; text-decoration:none; font-size:1.1rem; }
header.top nav a { color:#fff; margin-right:1rem; text-decoration:none; padding:.2rem .1rem; }
header.top nav a[aria-current="page"] { border-bottom:2px solid #fff; }
header.top form { margin-left:auto; }
main { padding:1rem 1.2rem 3rem; max-width:1200px; }
h1 { font-size:1.5rem; margin:.4rem 0 1rem; }
h2 { font-size:1.15rem; margin:1.6rem 0 .6rem; }
h3 { font-size:1rem; margin:1rem 0 .4rem; }
table { border-collapse:collapse; width:100%; margin:.4rem 0; }
th, td { text-align:left; padding:.35rem .5rem; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:var(--panel); font-weight:600; }
td.mono:first-child { white-space:nowrap; }
code, .mono { font-family:ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size:.9em; }
.muted { color:var(--muted); }
.card { border:1px solid var(--line); border-radius:6px; padding:.8rem 1rem; background:var(--panel); margin:.6rem 0; }
dl.facts { display:grid; grid-template-columns:max-content 1fr; gap:.25rem 1rem; margin:0; }
dl.facts dt { color:var(--muted); }
dl.facts dd { margin:0; word-break:break-word; }
.badge { display:inline-block; padding:.05rem .5rem; border-radius:1rem; font-size:.85em; font-weight:600; color:#fff; background:var(--pending); }
.badge.warn { background:#fff4d6; color:#5c4300; border:1px solid #d4a72c; }
.label { display:inline-block; padding:0 .45rem; margin:0 .2rem .1rem 0; border:1px solid var(--line); border-radius:1rem; font-size:.85em; background:#fff; }
.dot { display:inline-block; width:.85rem; height:.85rem; border-radius:50%; margin-right:.2rem; vertical-align:middle; background:var(--pending); }
.st-success { background:var(--success); } .st-failed { background:var(--failed); } .st-running { background:var(--running); }
.st-retrying { background:var(--retrying); } .st-cancelled { background:var(--cancelled); } .st-scheduled { background:var(--scheduled); }
.st-pending { background:var(--pending); } .st-mapped { background:var(--mapped); } .st-skipped { background:var(--skipped); }
.st-paused { background:var(--paused); }
svg .st-success { fill:var(--success); } svg .st-failed { fill:var(--failed); } svg .st-running { fill:var(--running); }
svg .st-retrying { fill:var(--retrying); } svg .st-cancelled { fill:var(--cancelled); } svg .st-scheduled { fill:var(--scheduled); }
svg .st-pending { fill:var(--pending); } svg .st-mapped { fill:var(--mapped); } svg .st-skipped { fill:var(--skipped); }
svg .st-paused { fill:var(--paused); }
svg.gantt { width:100%; height:auto; background:#fff; border:1px solid var(--line); border-radius:6px; }
svg.gantt text { font:12px system-ui, sans-serif; fill:var(--fg); }
svg.gantt text.axis { fill:var(--muted); }
svg.gantt line.grid { stroke:#eaeef2; }
svg.gantt rect.group { fill:#eef6f8; }
form.inline { display:inline; }
button, .button { font:inherit; padding:.35rem .9rem; border-radius:6px; border:1px solid #1f6feb; background:#0a58ca; color:#fff; cursor:pointer; }
button.secondary { background:#fff; color:var(--fg); border-color:var(--line); }
button.danger { background:var(--failed); border-color:var(--failed); }
label { font-weight:600; display:block; margin:.5rem 0 .2rem; }
label.check { display:inline-flex; gap:.4rem; align-items:center; font-weight:400; margin:0; }
input[type=text], input[type=password], input[type=datetime-local], select, textarea { font:inherit; padding:.35rem .5rem; border:1px solid #8c959f; border-radius:6px; background:#fff; color:var(--fg); }
textarea { width:100%; resize:vertical; font-family:ui-monospace, Menlo, Consolas, monospace; }
/* Where supported the box also grows and shrinks as one types, within 2 to 20 lines. */
#run-parameters { field-sizing:content; min-height:calc(2lh + .7rem + 2px); max-height:calc(20lh + .7rem + 2px); }
time { white-space:nowrap; }
.filters { display:flex; flex-wrap:wrap; gap:.6rem 1rem; align-items:flex-end; }
.filters label { margin:0 0 .2rem; }
.error { border:1px solid var(--failed); background:#ffebe9; color:#82071e; padding:.6rem .8rem; border-radius:6px; margin:.6rem 0; }
.notice { border:1px solid var(--success); background:#dafbe1; color:#0f5323; padding:.6rem .8rem; border-radius:6px; margin:.6rem 0; }
.logs { max-height:28rem; overflow:auto; background:#0d1117; color:#e6edf3; border-radius:6px; padding:.5rem .8rem; margin:.4rem 0; }
.logs .line { white-space:pre-wrap; font-family:ui-monospace, Menlo, Consolas, monospace; font-size:.85rem; }
.logs .lvl-ERROR, .logs .lvl-CRITICAL { color:#ffa198; } .logs .lvl-WARNING { color:#e3b341; } .logs .lvl-DEBUG { color:#9da7b3; }
.pager { display:flex; gap:1rem; align-items:center; margin:.6rem 0; }
.switches { display:flex; flex-wrap:wrap; gap:.8rem; }
.switch { display:flex; gap:.6rem; align-items:center; border:1px solid var(--line); border-radius:6px; padding:.4rem .7rem; background:#fff; }
.sr-only { position:absolute; width:1px; height:1px; padding:0; margin:-1px; overflow:hidden; clip:rect(0,0,0,0); border:0; }
.grid2 { display:grid; grid-template-columns:repeat(auto-fit, minmax(320px, 1fr)); gap:1rem; }
`;
