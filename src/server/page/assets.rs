//! The stylesheet and the one script, compiled into the binary and served
//! from `/assets/` (so the Content-Security-Policy can stay
//! `default-src 'self'`: no inline script or style anywhere).
//!
//! The script only makes the page live: every few seconds it fetches the
//! page's `data-src` fragment (server-rendered, escaped like the page) and
//! swaps it in, unless the reader is typing in a form there; when a fetch
//! fails it marks the data stale. Without it every page still works: the
//! data is as of the load, the forms post and redirect.

pub const CSS: &str = r#"
:root{--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg:#fff;--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--accent:#0969da}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header.top{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;padding:.6rem 1rem;border-bottom:1px solid var(--line)}
header.top .brand{font-weight:700;margin-right:auto;color:var(--fg);text-decoration:none}
nav.main a{margin-right:.8rem}
a{color:var(--accent)}
a:focus-visible,button:focus-visible,input:focus-visible,textarea:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
main{padding:1rem;max-width:72rem;margin:0 auto}
h1{font-size:1.4rem;margin:.2rem 0 .8rem}
h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:.45rem .5rem;border-bottom:1px solid var(--line)}
th{font-size:.85rem;color:var(--muted)}
th[scope=row]{font-size:1rem;color:var(--fg)}
th .muted{font-weight:400;font-size:.9rem}
.verdict{display:inline-block;font-weight:700;padding:.1rem .45rem;border:2px solid;border-radius:.3rem;white-space:nowrap}
.verdict.continue{color:var(--ok)}
.verdict.hold{color:var(--warn)}
.verdict.rollback{color:#fff;background:var(--bad);border-color:var(--bad)}
.verdict.pending{color:var(--muted)}
.status{font-weight:600;white-space:nowrap}
.status.failing,.status.error{color:var(--bad)}
.status.pending,.status.no_data{color:var(--warn)}
.status.passing{color:var(--ok)}
ol.ladder{list-style:none;display:flex;flex-wrap:wrap;gap:.25rem;margin:0;padding:0}
ol.ladder li{padding:0 .35rem;border:1px solid var(--line);border-radius:.25rem;color:var(--muted)}
ol.ladder li.done{color:var(--fg)}
ol.ladder li.current{font-weight:700;color:var(--fg);border:2px solid var(--fg)}
ol.ladder li.current::before{content:"▶ "}
progress{width:10rem;max-width:100%;height:.8rem}
.muted{color:var(--muted)}
.banner{padding:.6rem .8rem;border:2px solid var(--warn);border-radius:.3rem;margin:.5rem 0}
.banner.bad{border-color:var(--bad)}
.flash{padding:.6rem .8rem;border:2px solid var(--accent);border-radius:.3rem;margin:.5rem 0}
#live-status{font-size:.85rem;color:var(--muted);margin:.2rem 0 .6rem}
#live-status[data-state="stale"],#live-status[data-state="blind"]{color:var(--bad);font-weight:700}
.filters a{margin-right:.6rem;white-space:nowrap;display:inline-block;padding:.2rem 0}
.filters a[aria-current]{font-weight:700;text-decoration:none;color:var(--fg)}
form.inline{display:inline}
form.decide{margin:.5rem 0;padding:.6rem;border:1px solid var(--line);border-radius:.3rem}
label{display:block;font-weight:600;margin:.3rem 0}
input[type=password],textarea{width:100%;max-width:32rem;font:inherit;padding:.4rem;border:1px solid var(--muted);border-radius:.25rem}
button{font:inherit;font-weight:600;padding:.45rem .9rem;border-radius:.3rem;border:2px solid var(--fg);background:#f6f8fa;cursor:pointer;min-height:2.6rem}
button.go{border-color:var(--ok)}
button.nogo{border-color:var(--bad)}
svg.chart{width:100%;max-width:28rem;height:auto;border:1px solid var(--line);background:#fff}
svg.chart .line{fill:none;stroke:var(--accent);stroke-width:1.5}
svg.chart .threshold{stroke:var(--bad);stroke-dasharray:4 3;stroke-width:1}
svg.chart .breach{fill:var(--bad);fill-opacity:.15}
svg.chart .interval{fill:var(--accent);fill-opacity:.18;stroke:none}
.evidence{margin:.25rem 0 0;padding:0;list-style:none;font-size:.85em;color:var(--muted,#555)}
svg.band{width:100%;height:1.4rem}
svg.band .continue{fill:var(--ok)}
svg.band .hold{fill:#d4a72c}
svg.band .rollback{fill:var(--bad)}
@media (max-width:640px){
 main{padding:.6rem}
 table.cards thead{position:absolute;left:-9999px}
 table.cards tr{display:block;border:1px solid var(--line);border-radius:.3rem;margin:0 0 .7rem;padding:.3rem}
 table.cards td,table.cards th[scope=row]{display:block;border:0;padding:.2rem .3rem}
 table.cards td[data-label]::before{content:attr(data-label) ": ";font-weight:600;color:var(--muted)}
}
"#;

pub const JS: &str = r#"(function(){
var live=document.getElementById('live');
if(!live||!window.fetch)return;
var src=live.getAttribute('data-src');
var every=(+live.getAttribute('data-every')||5)*1000;
function busy(){var a=document.activeElement;if(a&&live.contains(a)&&/^(INPUT|TEXTAREA|BUTTON|A|SELECT)$/.test(a.tagName))return true;
var t=live.querySelectorAll('textarea,input[type=text]');for(var i=0;i<t.length;i++){if(t[i].value)return true}return false}
function stale(why){var s=document.getElementById('live-status');if(!s)return;s.setAttribute('data-state','stale');
s.textContent='Stale: '+why+' (last tried '+new Date().toLocaleTimeString()+'); the figures below may be old.'}
function tick(){fetch(src,{credentials:'same-origin',cache:'no-store'}).then(function(r){
if(!r.ok)throw new Error('Sena answered '+r.status);return r.text()}).then(function(html){
if(!busy())live.innerHTML=html}).catch(function(e){stale(e.message||'cannot reach Sena')}).then(function(){setTimeout(tick,every)})}
setTimeout(tick,every);
})();
"#;
