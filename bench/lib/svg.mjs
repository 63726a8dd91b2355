// A horizontal bar chart of Passthru ÷ best peer per figure, drawn by hand so the bench needs no
// plotting package. Log scale centred on 1: a bar to the right means Passthru costs more (or
// delivers less) than the best peer, to the left less; 2× worse and 2× better are equally long.

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function ratiosSvg(ratios, { title }) {
  const rows = ratios.map((r) => ({ ...r, cost: r.better === 'low' ? r.ratio : 1 / r.ratio }));
  const labelW = 400;
  const plotW = 420;
  const rowH = 24;
  const top = 56;
  const width = labelW + plotW + 90;
  const height = top + rows.length * rowH + 40;
  const maxLog = Math.max(1, ...rows.map((r) => Math.ceil(Math.abs(Math.log2(r.cost)))));
  const x = (ratio) => labelW + plotW / 2 + (Math.log2(ratio) / maxLog) * (plotW / 2);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">${esc(title)}</text>`,
    `<text x="10" y="38" fill="#555">log scale; right of 1×: Passthru worse than the best other proxy (cost ratio; for MB/s and conn/s the inverse)</text>`,
  ];
  for (let k = -maxLog; k <= maxLog; k++) {
    const xx = x(2 ** k);
    parts.push(`<line x1="${xx}" y1="${top - 6}" x2="${xx}" y2="${top + rows.length * rowH}" stroke="${k === 0 ? '#000' : '#ddd'}"/>`);
    const tick = k >= 0 ? `${2 ** k}×` : `1/${2 ** -k}`;
    parts.push(`<text x="${xx}" y="${top + rows.length * rowH + 16}" text-anchor="middle" fill="#555">${tick}</text>`);
  }
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const x0 = x(1);
    const x1 = x(Math.min(Math.max(r.cost, 2 ** -maxLog), 2 ** maxLog));
    const color = r.cost > 1 ? '#d9534f' : '#5cb85c';
    parts.push(`<text x="${labelW - 8}" y="${y + 16}" text-anchor="end">${esc(r.label)}</text>`);
    parts.push(`<rect x="${Math.min(x0, x1)}" y="${y + 4}" width="${Math.max(1, Math.abs(x1 - x0))}" height="${rowH - 8}" fill="${color}"/>`);
    parts.push(`<text x="${labelW + plotW + 6}" y="${y + 16}">${r.ratio.toFixed(2)}× <tspan fill="#777">vs ${esc(r.best)}</tspan></text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
