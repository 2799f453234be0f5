/**
 * RFC 4180 CSV, enough for the soak's samples: a header row, then one row per sample. Numbers
 * are written as they are (no thousands separators, `.` decimals), so spreadsheets and
 * gnuplot/pandas read the file as it is.
 */

export type CsvValue = string | number | boolean | undefined;

export function csvField(value: CsvValue): string {
  if (value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(columns: readonly string[], rows: ReadonlyArray<readonly CsvValue[]>): string {
  const lines = [columns.map(csvField).join(',')];
  for (const row of rows) {
    if (row.length !== columns.length) throw new RangeError(`a CSV row has ${row.length} values for ${columns.length} columns`);
    lines.push(row.map(csvField).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
