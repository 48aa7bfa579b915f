/**
 * @module report
 * The results file (Markdown): machine, versions, a summary of every figure against its goal, then each figure
 * with its runs, checks and the commands that produced it.
 */
import type { Machine, Versions } from './machine.ts';
import type { Spread } from './stats.ts';
import type { AbFigure, ExternalFigure, Figure, GrowthFigure } from './results.ts';

export interface ReportInput {
  date: string;
  mode: 'smoke' | 'full';
  command: string;
  startedAt: string;
  durationS: number;
  machine: Machine;
  versions: Versions;
  settings: string[];
  figures: Figure[];
}

const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–');
const int = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–');
const sp = (s: Spread, fmt: (x: number) => string) => (s.n > 1 ? `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})` : fmt(s.median));
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function abSection(f: AbFigure): string {
  const r = f.result;
  const row = (side: typeof r.regate) => `| ${side.name} | ${sp(side.rps, int)} | ${sp(side.p50, f2)} | ${sp(side.p99, f2)} | ${side.runs.map((x) => int(x.requests)).join(', ')} |`;
  return [
    `### ${f.id}. ${f.title}`,
    '',
    `Peer: ${f.peer}.`,
    '',
    '| side | req/s median (min–max) | p50 ms | p99 ms | requests per run |',
    '|---|---|---|---|---|',
    row(r.regate),
    row(r.peer),
    '',
    `**Ratio regate/peer: ${f2(r.ratio)}×** (median req/s ÷ median req/s; per round ${sp(r.roundRatios, f2)}). ` +
      f.goals.map((g) => `Goal ${g.text}: **${g.status}** (${g.observed}).`).join(' '),
    '',
    `Run order: ${r.order.join(' → ')}.`,
    '',
    'Checks: ' + f.checks.map((c) => `${c}.`).join(' '),
    '',
    'Command (regate side; the peer\'s is the same with its URL):',
    '',
    '```',
    r.command,
    '```',
    '',
  ].join('\n');
}

function growthSection(f: GrowthFigure): string {
  const lines = [
    `### ${f.id}. ${f.title}`,
    '',
    'No numeric goal was set for this figure; "× 1st size" is the p50 at that size ÷ the p50 of the same query at the smallest size.',
    '',
    '| models | user | endpoint | filter | rows on page 1 | p50 ms median (min–max) | p99 ms median (min–max) | requests | × 1st size (p50) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of f.rows) {
    lines.push(
      `| ${int(r.models)} | ${r.user} | ${r.endpoint} | ${r.filter ? `\`${r.filter}\`` : '–'} | ${int(r.rows)}${r.more ? ' (+ next page)' : ''} | ${sp(r.p50, f2)} | ${sp(r.p99, f2)} | ${r.samples} | ${f2(r.growthP50)} |`,
    );
  }
  lines.push('', 'Seeding (HTTP, admin token):', '', ...f.seeding.map((s) => `- ${s}`), '', 'Checks: ' + f.checks.map((c) => `${c}.`).join(' '), '', 'Requests:', '', '```', f.command, '```', '');
  return lines.join('\n');
}

interface MlflowGoal {
  goal?: string;
  status?: string;
  observed_ratio?: number | null;
  required_ratio_mlflow_over_regate?: number;
}

function externalSection(f: ExternalFigure, smoke: boolean): string {
  const lines = [
    `### ${f.id}. ${f.title}`,
    '',
    `Status: **${f.status}**${smoke ? ' (smoke: any goal verdicts below are the sub-benchmark\'s own, on tiny sizes; not a judgement of speed)' : ''}.`,
    '',
    '```',
    f.command,
    '```',
    '',
  ];
  if (f.status === 'failed') lines.push('```', f.detail, '```', '');
  const j = f.json as Record<string, unknown> | undefined;
  if (j && Array.isArray(j.goals)) {
    lines.push('| goal | observed (MLflow ÷ regate) | needed | status |', '|---|---|---|---|');
    for (const g of j.goals as MlflowGoal[]) lines.push(`| ${cell(String(g.goal ?? ''))} | ${g.observed_ratio ?? '–'} | ${g.required_ratio_mlflow_over_regate ?? '–'} | ${g.status ?? '–'} |`);
    lines.push('');
  }
  if (f.detail && f.status === 'ok') lines.push('Its table:', '', '```', f.detail, '```', '');
  if (j !== undefined) {
    const brief = j && typeof j === 'object' && 'samples' in j ? { ...j, samples: `(${(j.samples as unknown[]).length} samples: see the JSON file)` } : j;
    lines.push(`<details><summary>JSON${f.jsonPath ? ` (full file: ${f.jsonPath})` : ''}</summary>`, '', '```json', JSON.stringify(brief, null, 2), '```', '', '</details>', '');
  }
  return lines.join('\n');
}

export function summaryRows(figures: Figure[]): string[] {
  const rows = ['| # | figure | regate | peer | ratio | goal | status |', '|---|---|---|---|---|---|---|'];
  for (const f of figures) {
    if (f.kind === 'ab') {
      const r = f.result;
      rows.push(
        `| ${f.id} | ${cell(f.title)} | ${int(r.regate.rps.median)} req/s, p99 ${f1(r.regate.p99.median)} ms | ${int(r.peer.rps.median)} req/s, p99 ${f1(r.peer.p99.median)} ms | ${f2(r.ratio)}× (${f2(r.roundRatios.min)}–${f2(r.roundRatios.max)}) | ${f.goals.map((g) => g.text).join('; ')} | ${f.goals.map((g) => g.status).join('; ')} |`,
      );
    } else if (f.kind === 'growth') {
      const top = Math.max(...f.rows.map((r) => r.models));
      const worst = f.rows.filter((r) => r.models === top).sort((a, b) => b.p99.median - a.p99.median)[0];
      rows.push(
        `| ${f.id} | ${cell(f.title)} | slowest at ${int(top)} models: ${worst ? `${worst.endpoint}${worst.filter ? ' (filter)' : ''}, ${worst.user}: p50 ${f1(worst.p50.median)} / p99 ${f1(worst.p99.median)} ms` : '–'} | – | ${worst ? `${f2(worst.growthP50)}× the p50 at the smallest size` : '–'} | none set | checks passed |`,
      );
    } else if (f.kind === 'external') {
      rows.push(`| ${f.id} | ${cell(f.title)} | see below | – | – | see below | ${f.status === 'ok' ? 'ran' : '**failed**'} |`);
    } else {
      rows.push(`| ${f.id} | ${cell(f.title)} | – | – | – | – | **failed** (not reported) |`);
    }
  }
  return rows;
}

export function renderReport(i: ReportInput): string {
  const m = i.machine;
  const v = i.versions;
  const out = [
    `# regate benchmarks, ${i.date}${i.mode === 'smoke' ? ' (smoke: tiny sizes and durations, speed not judged)' : ''}`,
    '',
    `Produced by \`${i.command}\`, started ${i.startedAt}, took ${Math.round(i.durationS)} s. How to read this file: bench/README.md ("Reading the results").`,
    '',
    '## Machine',
    '',
    '| nproc | memory | kernel | CPU model | load average at start |',
    '|---|---|---|---|---|',
    `| ${m.nproc} | ${m.memGiB} GiB | ${m.kernel} | ${m.cpuModel} | ${m.loadavg} |`,
    '',
    'Client (wrk / the Node sampler) and servers share these CPUs; every figure is loopback on 127.0.0.1.',
    '',
    '## Versions',
    '',
    '| node | nginx | wrk | curl | hono | @hono/node-server | mlflow | regate (git) |',
    '|---|---|---|---|---|---|---|---|',
    `| ${v.node} | ${v.nginx} | ${v.wrk} | ${v.curl} | ${v.hono} | ${v.honoNodeServer} | ${v.mlflow} | ${v.git} |`,
    '',
    '## Settings',
    '',
    ...i.settings.map((s) => `- ${s}`),
    '',
    '## Summary',
    '',
    ...summaryRows(i.figures),
    '',
    '## Figures',
    '',
  ];
  for (const f of i.figures) {
    if (f.kind === 'ab') out.push(abSection(f));
    else if (f.kind === 'growth') out.push(growthSection(f));
    else if (f.kind === 'external') out.push(externalSection(f, i.mode === 'smoke'));
    else out.push(`### ${f.id}. ${f.title}`, '', '**Failed: not reported.**', '', '```', f.error, '```', '');
  }
  return out.join('\n');
}

/** The short table printed on stdout at the end of a run. */
export function consoleSummary(figures: Figure[]): string {
  const lines: string[] = [];
  for (const f of figures) {
    if (f.kind === 'ab') {
      const r = f.result;
      lines.push(
        `${f.id.padEnd(3)} ${f.title}\n    regate ${int(r.regate.rps.median)} req/s p50 ${f2(r.regate.p50.median)} p99 ${f2(r.regate.p99.median)} ms | ${r.peer.name} ${int(r.peer.rps.median)} req/s p99 ${f2(r.peer.p99.median)} ms | ratio ${f2(r.ratio)}x | ${f.goals.map((g) => `${g.text}: ${g.status}`).join('; ')}`,
      );
    } else if (f.kind === 'growth') {
      lines.push(`${f.id.padEnd(3)} ${f.title}`);
      for (const r of f.rows) {
        lines.push(`    ${String(r.models).padStart(6)} ${r.user.padEnd(24)} ${r.endpoint.padEnd(24)} ${(r.filter || '-').padEnd(22)} rows ${String(r.rows).padStart(5)}  p50 ${f2(r.p50.median).padStart(8)}  p99 ${f2(r.p99.median).padStart(8)} ms  x${f2(r.growthP50)}`);
      }
    } else if (f.kind === 'external') {
      lines.push(`${f.id.padEnd(3)} ${f.title}: ${f.status}${f.status === 'failed' ? `\n    ${f.detail.split('\n').slice(0, 6).join('\n    ')}` : ''}`);
    } else {
      lines.push(`${f.id.padEnd(3)} ${f.title}: FAILED\n    ${f.error.split('\n').slice(0, 8).join('\n    ')}`);
    }
  }
  return lines.join('\n');
}
