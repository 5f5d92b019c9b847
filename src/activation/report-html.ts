// The drill report as a readable, self-contained HTML page (no scripts, no external resources):
// who ran it where, with which custodians, what was checked per dataset, the measured RTOs, and
// the evidence — the signed drill statement, its index in the mirror's log, and the checkpoint
// note with the other mirrors' cosignatures, which anyone can check against the site cards.
// Pure: a DrillReport in, a string out. Every value is HTML-escaped.
import type { DrillReport } from './manager.ts';

const esc = (v: unknown): string =>
  String(v).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const ms = (n: number): string => (n < 1000 ? `${n} ms` : `${(n / 1000).toFixed(2)} s`);

export function renderDrillReport(r: DrillReport, generatedAt: string): string {
  const s = r.statement;
  const a = r.activation;
  const rows = s.datasets
    .map(
      (d) => `<tr><td><code>${esc(d.dataset)}</code></td><td>${esc(d.version)}</td><td>${esc(d.records.toLocaleString('en-US'))}</td>` +
        `<td class="${d.commitmentOk ? 'ok' : 'bad'}">${d.commitmentOk ? 'matches the signed statement' : 'MISMATCH'}</td>` +
        `<td>${esc(d.objects)}</td><td>${esc(d.samplesOk)}</td><td>${d.error ? `<span class="bad">${esc(d.error)}</span>` : '—'}</td></tr>`,
    )
    .join('\n');
  const samples = r.samples
    .map((x) => `<tr><td><code>${esc(x.dataset)}</code></td><td>${esc(x.version)}</td><td><code>${esc(x.key)}</code></td><td class="${x.verified ? 'ok' : 'bad'}">${x.verified ? 'proof verified' : 'FAILED'}</td></tr>`)
    .join('\n');
  const cosigs = r.cosignatures.length === 0
    ? '<p class="warn">No other mirror had cosigned the drill statement when this report was written; its cosignatures are collected later (see <code>own-log-cosignatures.sqlite</code>).</p>'
    : r.cosignatures.map((c) => `<h3>cosigned by ${esc(c.site)} at log size ${esc(c.size)}</h3><pre>${esc(c.note)}</pre>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Drill ${esc(a.id)} at ${esc(r.site)} — ${s.ok ? 'passed' : 'FAILED'}</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #1a1a1a; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; } h3 { font-size: 1rem; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #eee; vertical-align: top; }
pre { background: #f6f6f6; padding: .6rem; overflow-x: auto; font-size: 12px; }
.ok { color: #0a6b2d; } .bad { color: #b00020; font-weight: 600; } .warn { color: #8a5a00; }
.verdict { font-size: 1.2rem; padding: .6rem 1rem; border-radius: .3rem; background: ${s.ok ? '#e6f4ea' : '#fde7e9'}; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; } dt { font-weight: 600; }
</style>
</head>
<body>
<h1>Drill report: ${esc(r.site)} standing in for ${esc(r.home.name)}</h1>
<p class="verdict ${s.ok ? 'ok' : 'bad'}">${s.ok ? 'Passed' : 'FAILED'}: ${s.datasets.length} dataset(s), ${s.samples} sample lookup(s) with proofs; first verified answer ${esc(ms(s.rto.firstVerifiedAnswerMs))} after the last share, full verification ${esc(ms(s.rto.fullVerificationMs))}.</p>

<h2>Activation</h2>
<dl>
<dt>mirror</dt><dd>${esc(r.site)}</dd>
<dt>home</dt><dd>${esc(r.home.name)} (<code>${esc(r.home.origin)}</code>)</dd>
<dt>activation</dt><dd><code>${esc(a.id)}</code> (mirror log entry ${esc(r.activationIndex)}), drill, read-only</dd>
<dt>custodians</dt><dd>${a.custodians.map(esc).join(', ')}</dd>
<dt>custody</dt><dd>epoch ${esc(a.custodyEpoch)}, KEK fingerprint <code>${esc(a.kekFingerprint)}</code></dd>
<dt>started</dt><dd>${esc(a.notBefore)}</dd>
<dt>reason</dt><dd>${esc(a.reason)}</dd>
</dl>

<h2>Recovery time (RTO)</h2>
<dl>
<dt>first verified answer</dt><dd>${esc(ms(s.rto.firstVerifiedAnswerMs))} — from the last custodian's share to a record whose proof bundle verified against the home's key</dd>
<dt>full verification</dt><dd>${esc(ms(s.rto.fullVerificationMs))} — every node and chunk of the newest version of every dataset decrypted and its commitment recomputed</dd>
</dl>

<h2>Datasets</h2>
<table><thead><tr><th>dataset</th><th>version</th><th>records</th><th>commitment</th><th>objects read</th><th>samples verified</th><th>error</th></tr></thead>
<tbody>
${rows}
</tbody></table>

<h2>Sample lookups</h2>
<table><thead><tr><th>dataset</th><th>version</th><th>key</th><th>result</th></tr></thead>
<tbody>
${samples}
</tbody></table>

<h2>Evidence</h2>
<p>The drill statement is entry <strong>${esc(r.logIndex)}</strong> of ${esc(r.site)}'s log. Its canonical JSON:</p>
<pre>${esc(JSON.stringify(s, null, 2))}</pre>
<h3>the mirror's signed checkpoint after it</h3>
<pre>${esc(r.checkpoint)}</pre>
${cosigs}
<p><small>Written ${esc(generatedAt)} by <code>embassy drill</code>.</small></p>
</body>
</html>
`;
}
