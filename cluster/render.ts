// Text table (like the seed's) and a self-contained HTML picture of a simulation.
import type { SimResult } from './simulate.ts';
import type { Holdings, Transfer } from './types.ts';

export function nodeName(v: number, total: number): string {
  return total <= 26 ? String.fromCharCode(65 + v) : `n${v}`;
}

/** `A1B`: A sends piece 1 (pieces numbered from 1) to B. */
export function transferText(t: Transfer, total: number): string {
  return `${nodeName(t.from, total)}${t.piece + 1}${nodeName(t.to, total)}`;
}

function piecesText(row: Uint8Array): string {
  const held = [...row.keys()].filter((p) => row[p]).map((p) => p + 1);
  if (row.length <= 9) return held.join('');
  if (held.length === row.length) return 'all';
  // ranges: 1-5,7
  const parts: string[] = [];
  for (let i = 0; i < held.length; ) {
    let j = i;
    while (j + 1 < held.length && held[j + 1] === held[j]! + 1) j++;
    parts.push(i === j ? `${held[i]}` : `${held[i]}-${held[j]}`);
    i = j + 1;
  }
  return parts.join(',') || '-';
}

export function renderText(r: SimResult, pieces: number): string {
  const total = r.totalNodes;
  const lines: string[] = [];
  const head = `rounds ${r.rounds} (optimum ${r.optimum}), ${r.complete ? 'complete' : 'INCOMPLETE'}, ${r.replans} plan(s): ${r.methods.join(', ')}`;
  if (total > 26 || !r.history) {
    lines.push(head);
    lines.push('round  transfers  lost  complete-nodes');
    r.schedule.forEach((round, i) => {
      const done = r.counts[i + 1]!.filter((c, v) => r.live[v] && c >= r.wanted[v]!).length;
      lines.push(`${String(i + 1).padStart(5)}  ${String(round.length).padStart(9)}  ${String(r.lost[i]!.length).padStart(4)}  ${done}`);
    });
    return lines.join('\n');
  }
  const hist: Holdings[] = r.history;
  const width = Math.max(pieces <= 9 ? pieces : 8, 3) + 2;
  const tw = Math.max(12, ...r.schedule.map((round, i) => fmtTransfers(round, r.lost[i]!, total).length)) + 2;
  lines.push(head);
  lines.push('round  ' + 'transfers'.padEnd(tw) + [...Array(total).keys()].map((v) => nodeName(v, total).padEnd(width)).join(''));
  const row = (label: string, tr: string, h: Holdings) =>
    label.padStart(5) + '  ' + tr.padEnd(tw) + h.map((x) => piecesText(x).padEnd(width)).join('').trimEnd();
  lines.push(row('0', '', hist[0]!));
  r.schedule.forEach((round, i) => lines.push(row(String(i + 1), fmtTransfers(round, r.lost[i]!, total), hist[i + 1]!)));
  return lines.join('\n');
}

function fmtTransfers(ok: Transfer[], lost: Transfer[], total: number): string {
  return [...ok.map((t) => transferText(t, total)), ...lost.map((t) => `(${transferText(t, total)} lost)`)].join(',');
}

export function renderHtml(r: SimResult, pieces: number, title: string): string {
  const total = r.totalNodes;
  const cells: string[] = [];
  const rounds = r.counts.length;
  for (let v = 0; v < total; v++) {
    const tds: string[] = [];
    for (let t = 0; t < rounds; t++) {
      const c = r.counts[t]![v]!;
      const b = pieces === 0 ? 10 : Math.round((10 * c) / pieces);
      tds.push(`<td class="b${b}" title="${nodeName(v, total)} after round ${t}: ${c}/${pieces}"></td>`);
    }
    cells.push(`<tr><th>${nodeName(v, total)}</th>${tds.join('')}</tr>`);
  }
  const css = [...Array(11).keys()]
    .map((b) => `.b${b}{background:hsl(${210 - b * 9},70%,${95 - b * 5}%)}`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>body{font:13px sans-serif;margin:1em}table{border-collapse:collapse}td{width:8px;height:8px;padding:0}
th{font-weight:normal;text-align:right;padding-right:4px;font-size:10px}${css}</style></head>
<body><h1>${title}</h1>
<p>${r.rounds} rounds (optimum ${r.optimum}), ${r.complete ? 'complete' : 'incomplete'}; ${r.lost.reduce((s, x) => s + x.length, 0)} transfers lost; rows: nodes, columns: rounds (0 = start); darker = more pieces held.</p>
<table>${cells.join('\n')}</table></body></html>
`;
}
