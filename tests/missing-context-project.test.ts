/**
 * missing-context across files: the fixture harness indexes one file at a time, so a helper
 * defined in one file and called from another needs an index of both (DESIGN.md §3).
 */
import { describe, expect, it } from 'vitest';
import { runFile } from '../src/engine/index.js';
import { collectIndex } from '../src/index/index.js';
import { loadTransforms, testParser } from './support/run-transforms.js';

const UTIL_H = `#include "hpy.h"
int util_is_blank(HPy text);
int util_width(const char *s);
`;

const UTIL_C = `#include "util.h"
#include <string.h>

int
util_width(const char *s)
{
    return (int)strlen(s);
}

int
util_is_blank(HPy text)
{
    HPy stripped = HPy_Repr(ctx, text);
    HPy_ssize_t n;
    if (HPy_IsNull(stripped))
        return -1;
    n = HPy_Length(ctx, stripped);
    HPy_Close(ctx, stripped);
    return n == 0;
}
`;

const MODULE_C = `#include "util.h"

static int
module_check(HPy text)
{
    return util_is_blank(text) == 1 && util_width("x") == 1;
}

static HPy
module_blank(HPyContext *ctx, HPy self, HPy text)
{
    int blank = module_check(text);
    if (blank < 0)
        return HPy_NULL;
    return HPyBool_FromLong(ctx, blank);
}
`;

async function migrate(files: Record<string, string>): Promise<Record<string, string>> {
  const parser = testParser();
  const transforms = await loadTransforms(['missing-context']);
  const inputs = Object.entries(files).map(([path, text]) => ({ path, text }));
  const index = collectIndex(inputs, parser);
  const out: Record<string, string> = {};
  for (const input of inputs) out[input.path] = runFile({ ...input, transforms, index, parser }).output;
  return out;
}

describe('missing-context over a project', () => {
  it('threads ctx to a helper defined in another file, its prototype and its callers', async () => {
    const out = await migrate({ 'util.h': UTIL_H, 'util.c': UTIL_C, 'module.c': MODULE_C });
    expect(out['util.h']).toBe(UTIL_H.replace('int util_is_blank(HPy text);', 'int util_is_blank(HPyContext *ctx, HPy text);'));
    expect(out['util.c']).toBe(UTIL_C.replace('util_is_blank(HPy text)', 'util_is_blank(HPyContext *ctx, HPy text)'));
    expect(out['module.c']).toBe(
      MODULE_C.replace('module_check(HPy text)', 'module_check(HPyContext *ctx, HPy text)')
        .replace('util_is_blank(text)', 'util_is_blank(ctx, text)')
        .replace('module_check(text)', 'module_check(ctx, text)'),
    );
  });

  it('changes nothing when run again on its own output', async () => {
    const once = await migrate({ 'util.h': UTIL_H, 'util.c': UTIL_C, 'module.c': MODULE_C });
    expect(await migrate(once)).toEqual(once);
  });
});
