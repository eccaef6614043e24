import { describe, expect, it } from 'vitest';
import { createCParser, defineTransform, emptyIndex, type CParser, type Transform } from '../src/api/index.js';
import { applyEdits, mapToOriginal, orderTransforms, runFile } from '../src/engine/index.js';

const parser = createCParser();

function rename(id: string, from: string, to: string, extra: Partial<Transform> = {}): Transform {
  return defineTransform({
    id,
    summary: `renames ${from}`,
    concern: 'handles',
    safety: 'safe',
    default: true,
    rewrite(_file, api) {
      for (const m of api.matches(`((identifier) @id (#eq? @id "${from}"))`)) api.replace(m.id, to);
    },
    ...extra,
  });
}

function run(text: string, transforms: Transform[], p: CParser = parser) {
  return runFile({ path: 'x.c', text, transforms, index: emptyIndex(), parser: p });
}

describe('engine passes', () => {
  it('runs transforms in order, each on the output of the previous one', () => {
    const r = run('int a = b;\n', [rename('one', 'b', 'c'), rename('two', 'c', 'd')]);
    expect(r.output).toBe('int a = d;\n');
    expect(r.transforms).toEqual(['one', 'two']);
    expect(r.edits).toBe(2);
    expect(r.status).toBe('changed');
  });

  it('reparses only after a pass that changed something', () => {
    let parses = 0;
    const counting: CParser = { parse: (t) => (parses++, parser.parse(t)), query: (q) => parser.query(q) };
    run('int a = b;\n', [rename('one', 'zzz', 'y'), rename('two', 'qqq', 'y'), rename('three', 'b', 'c')], counting);
    expect(parses).toBe(2);
  });

  it('rejects overlapping edits of one transform as error[engine] and leaves the file unchanged', () => {
    const clash = defineTransform({
      id: 'clash', summary: 'x', concern: 'handles', safety: 'safe', default: true,
      rewrite(file, api) {
        api.replace({ start: 4, end: 9 }, 'xx');
        api.replace({ start: 6, end: 8 }, 'yy');
      },
    });
    const r = run('int abcde = 1;\n', [clash]);
    expect(r.status).toBe('failed');
    expect(r.output).toBe('int abcde = 1;\n');
    expect(r.diagnostics.some((d) => d.severity === 'error' && d.transform === 'engine' && d.message.includes("'clash'"))).toBe(true);
  });

  it('never edits inside a region that does not parse, and warns', () => {
    // tree-sitter-c reads the second 'b' on line 2 as an ERROR node; the rest parses.
    const text = 'int a = b;\nvoid f(void) { x = b b ); }\nint g = b;\n';
    const r = run(text, [rename('one', 'b', 'c')]);
    expect(r.output).toBe('int a = c;\nvoid f(void) { x = c b ); }\nint g = c;\n');
    expect(r.diagnostics.some((d) => d.transform === 'engine' && d.severity === 'warning' && d.line === 2)).toBe(true);
  });

  it('positions diagnostics of later passes in the original file', () => {
    const grow = rename('grow', 'a', 'a_much_longer_name');
    const reporter = defineTransform({
      id: 'reporter', summary: 'x', concern: 'handles', safety: 'safe', default: true,
      rewrite(_file, api) {
        for (const m of api.matches('((identifier) @id (#eq? @id "target"))')) api.report(m.id, 'found it');
      },
    });
    const r = run('int a = 1; int target = 2;\n', [grow, reporter]);
    const d = r.diagnostics.find((x) => x.message === 'found it')!;
    expect(d.line).toBe(1);
    expect(d.column).toBe(16);
    expect(d.start).toBe(15);
  });

  it('isolates a transform that throws: the file fails, with the reason', () => {
    const boom = defineTransform({ id: 'boom', summary: 'x', concern: 'handles', safety: 'safe', default: true, rewrite() { throw new Error('kaput'); } });
    const r = run('int a = b;\n', [rename('one', 'b', 'c'), boom]);
    expect(r.status).toBe('failed');
    expect(r.output).toBe('int a = b;\n');
    expect(r.diagnostics[0]).toMatchObject({ severity: 'error', transform: 'boom' });
    expect(r.diagnostics[0].message).toContain('kaput');
  });

  it('fails a file whose output parses worse than its input', () => {
    const breaker = defineTransform({ id: 'breaker', summary: 'x', concern: 'handles', safety: 'safe', default: true, rewrite(_f, api) { api.insertAfter({ start: 0, end: 3 }, ' ((('); } });
    const r = run('int a;\n', [breaker]);
    expect(r.status).toBe('failed');
    expect(r.diagnostics.some((d) => d.message.includes('parses worse'))).toBe(true);
  });

  it('honours hpy-migrate: ignore comments, for one id or all', () => {
    const text = 'int b; // hpy-migrate: ignore[one]\nint b2 = b; /* hpy-migrate: ignore */\nint x = b;\n';
    const r = run(text, [rename('one', 'b', 'c')]);
    expect(r.output).toBe('int b; // hpy-migrate: ignore[one]\nint b2 = b; /* hpy-migrate: ignore */\nint x = c;\n');
  });

  it('turns the notes of edits into diagnostics, marked down to review when asked', () => {
    const noted = defineTransform({
      id: 'noted', summary: 'x', concern: 'handles', safety: 'safe', default: true,
      rewrite(_f, api) { api.replace({ start: 4, end: 5 }, 'z', { safety: 'review', note: 'check this' }); },
    });
    const r = run('int a;\n', [noted]);
    expect(r.appliedEdits[0].safety).toBe('review');
    expect(r.diagnostics[0]).toMatchObject({ severity: 'warning', message: 'check this', safety: 'review' });
  });
});

describe('edits', () => {
  it('applies insertions before and after replacements at the same place', () => {
    const edits = [
      { start: 4, end: 5, text: 'Z', transform: 't', safety: 'safe' as const },
      { start: 4, end: 4, text: '<', transform: 't', safety: 'safe' as const },
      { start: 5, end: 5, text: '>', transform: 't', safety: 'safe' as const },
    ];
    expect(applyEdits('int a;', edits)).toBe('int <Z>;');
  });

  it('maps offsets back through several passes', () => {
    const pass1 = [{ start: 0, end: 1, text: 'abc', transform: 't', safety: 'safe' as const }];
    const pass2 = [{ start: 5, end: 5, text: '12345', transform: 't', safety: 'safe' as const }];
    // original 'x yz' -> 'abc yz' -> 'abc y12345z'
    expect(mapToOriginal([pass1, pass2], 10, 'start')).toBe(3);
    expect(mapToOriginal([pass1, pass2], 4, 'start')).toBe(2);
    expect(mapToOriginal([pass1, pass2], 1, 'start')).toBe(0);
  });
});

describe('order', () => {
  it('keeps registry order and moves a transform only as far as its after constraint requires', () => {
    const ts = [{ id: 'a', after: ['c'] }, { id: 'b' }, { id: 'c' }, { id: 'd' }];
    expect(orderTransforms(ts).map((t) => t.id)).toEqual(['b', 'c', 'a', 'd']);
  });
  it('reports a cycle', () => {
    expect(() => orderTransforms([{ id: 'a', after: ['b'] }, { id: 'b', after: ['a'] }])).toThrow(/cyclic/);
  });
});

describe('diagnostics', () => {
  it('keeps one of the same finding told by several transforms (the first)', () => {
    const teller = (id: string) =>
      defineTransform({
        id, summary: 'tells', concern: 'handles', safety: 'safe', default: true,
        rewrite(_f, api) { api.report({ start: 4, end: 5 }, 'the same finding'); },
      });
    const r = run('int a;\n', [teller('first'), teller('second')]);
    expect(r.diagnostics.map((d) => `${d.transform}: ${d.message}`)).toEqual(['first: the same finding']);
  });
});
