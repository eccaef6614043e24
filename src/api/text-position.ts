/** Line starts of a text (index of the first character of each line). */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

/** 1-based line and column (characters) of `offset`. A leading BOM does not count as a column. */
export function lineColumn(starts: number[], offset: number, text?: string): { line: number; column: number } {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  let column = offset - starts[lo] + 1;
  if (lo === 0 && text?.charCodeAt(0) === 0xfeff && offset > 0) column -= 1;
  return { line: lo + 1, column };
}

/** The file's line ending: CRLF if most line breaks are CRLF, else LF. */
export function detectEol(text: string): '\n' | '\r\n' {
  let crlf = 0;
  let lf = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) {
    if (i > 0 && text.charCodeAt(i - 1) === 13) crlf++;
    else lf++;
  }
  return crlf > lf ? '\r\n' : '\n';
}
