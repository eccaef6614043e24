/**
 * Gives `HPyContext *ctx` to the project's own functions that need it, and passes `ctx` at
 * every call to them.
 *
 * ## Why
 * Every HPy function takes the context first, and nothing else provides it: there is no global
 * context, and caching one in a global is an error the debug mode reports (API reference,
 * "HPyContext": https://docs.hpyproject.org/en/latest/api.html). HPy hands `ctx` to the impls it
 * calls (methods, slots, get-sets, the exec slot); a helper of the extension that uses the API, or
 * calls a helper that does, must receive it from its caller as a new first parameter.
 *
 * ## Before
 * ```c
 * static int
 * check_size(HPy seq, HPy_ssize_t max)
 * {
 *     return HPy_Length(ctx, seq) <= max;
 * }
 *
 * static int check_all(HPy a, HPy b);
 *
 * static int
 * check_all(HPy a, HPy b)
 * {
 *     return check_size(a, 10) && check_size(b, 10);
 * }
 *
 * static HPy
 * both(HPyContext *ctx, HPy self, HPy arg)
 * {
 *     return HPyBool_FromLong(ctx, check_all(self, arg));
 * }
 * ```
 * ## After
 * ```c
 * static int
 * check_size(HPyContext *ctx, HPy seq, HPy_ssize_t max)
 * {
 *     return HPy_Length(ctx, seq) <= max;
 * }
 *
 * static int check_all(HPyContext *ctx, HPy a, HPy b);
 *
 * static int
 * check_all(HPyContext *ctx, HPy a, HPy b)
 * {
 *     return check_size(ctx, a, 10) && check_size(ctx, b, 10);
 * }
 *
 * static HPy
 * both(HPyContext *ctx, HPy self, HPy arg)
 * {
 *     return HPyBool_FromLong(ctx, check_all(ctx, self, arg));
 * }
 * ```
 * ## Safety
 * safe: the new parameter comes first in the definition, in every prototype and at every call,
 * so each call still passes the same values to the same parameters. Which functions need it is
 * decided once for the whole project, from the index of the original sources (a function uses the
 * API, holds an object in its signature, or calls, directly or not, one that needs it), so a
 * helper defined in one file and called from another gets the same answer in both. `ctx` is only
 * passed where the caller has it: its own parameter, or the one it gets in this pass.
 *
 * ## Limits
 * Never given `ctx`: callbacks (functions used as values, whose signature the API dictates:
 * methods, slots, comparison functions passed by pointer), functions that already take an
 * `HPyContext *`, traverse and destroy impls, capsule destructors and `PyInit_*`, which HPy calls
 * without one. Reported (warning) and left alone:
 * - a call to a function that needs `ctx` from one of those (or at file scope), with the reason;
 * - a function that uses `ctx` but cannot receive it (a callback still in its C-API form, a
 *   traverse or destroy impl that calls the API).
 * A direct call of a function of the file that takes `ctx` already (an impl written by the
 * transforms of methods and slots, called from another one) gets `ctx` too when that is all it
 * lacks; a call of another shape to an impl converted in this run is reported, since its
 * arguments changed too. Calls inside `#define` bodies and through function pointers are not
 * seen. Functions are known by name across the project: two `static` functions of the same name
 * in two files share one decision. A function whose body uses only plain renames (`Py_ssize_t`)
 * counts as using the API, and gets a `ctx` it does not use.
 */
import {
  callArguments,
  contextScope,
  defineTransform,
  enclosingFunction,
  functionDeclarator,
  functionName,
  functionParams,
  hasContextParam,
  indentationAt,
  isModuleInit,
  type ContextScope,
  type RewriteApi,
  type SyntaxNode,
} from '../src/api/index.js';

const FUNCTIONS = '(function_definition) @fn';
const PROTOTYPES = '(declaration declarator: [(function_declarator) (pointer_declarator)] @declarator) @decl';
const CALLS = '(call_expression function: (identifier) @name arguments: (argument_list) @args) @call';
const CONTEXT_USES = '((identifier) @id (#eq? @id "ctx"))';
const CONTEXT_PARAM = /^\s*HPyContext\s*\*\s*ctx\s*$/;

export default defineTransform({
  id: 'missing-context',
  summary: "helpers that use the API get an 'HPyContext *ctx' first parameter, and their callers pass it",
  concern: 'handles',
  safety: 'safe',
  default: true,
  after: ['borrowed-reference', 'stolen-reference', 'builtin-constant', 'capi-call', 'py-type-macro', 'pyarg-parse', 'pymethoddef', 'pymoduledef', 'pyobject-field', 'pyobject-global', 'pyobject-head', 'pyobject-pointer', 'python-h-include', 'pytype-spec', 'refcount-macro'],
  rewrite(file, api) {
    const scope = contextScope(api.index, file.text, api.target);
    for (const { fn } of api.matches(FUNCTIONS)) planDefinition(api, scope, fn);
    for (const { decl, declarator } of api.matches(PROTOTYPES)) planPrototype(api, scope, decl, declarator);
    const converted = convertedFunctions(api, scope);
    for (const { call, name, args } of api.matches(CALLS)) {
      const callee = api.text(name);
      if (scope.needsContext(callee)) planCall(api, scope, call, callee, args);
      else if (converted.has(callee)) planCallOfConverted(api, scope, call, converted.get(callee)!, args);
    }
  },
});

/** A function that needs `ctx` gets the parameter; one that uses `ctx` without being able to is reported. */
function planDefinition(api: RewriteApi, scope: ContextScope, fn: SyntaxNode): void {
  const name = functionName(fn);
  const params = functionDeclarator(fn)?.childForFieldName('parameters');
  if (!name || !params || hasContextParam(fn)) return;
  if (receivesContext(scope, fn, name)) {
    addContextParameter(api, params);
    return;
  }
  // A parameter of its own named ctx (a capsule's `void *ctx`) is no HPy context.
  const ownContext = functionParams(fn).some((p) => p.name === 'ctx');
  if (!ownContext && api.matches(CONTEXT_USES, fn.childForFieldName('body') ?? fn).length > 0) {
    api.report(functionDeclarator(fn)!.childForFieldName('declarator')!, `'${name}' uses 'ctx' but cannot receive it`, { notes: [noContextReason(scope, fn, name)], suggestion: 'the HPy calls moved to a function that receives ctx, or this function ported with its table (its HPy signature receives ctx)' });
  }
}

/** Does the function get `ctx` in this pass (it needs it, and HPy lets it have one)? */
function receivesContext(scope: ContextScope, fn: SyntaxNode, name: string): boolean {
  return scope.needsContext(name) && !scope.isWithoutContext(name, functionParams(fn));
}

/** Why a function has no `ctx` and cannot be given one. */
function noContextReason(scope: ContextScope, fn: SyntaxNode, name: string): string {
  if (isModuleInit(name)) return `'${name}' is the module's entry point, which receives no context (its body becomes an HPy_mod_exec slot)`;
  if (scope.isWithoutContext(name, functionParams(fn))) return `HPy calls '${name}' without a context (traverse and destroy functions, capsule destructors): it may not use the HPy API`;
  const kept = scope.legacyHelperCall(name);
  if (kept !== undefined) return `'${name}' stays on the C API (it calls '${kept}', which has no HPy 0.9.0 counterpart or stays on the C API itself), so it cannot take 'ctx'`;
  if (scope.isCallback(name)) return `'${name}' is used as a value, so its signature is dictated by the API and cannot take 'ctx'`;
  return `'${name}' does not use the C API in the original sources, so it was not given 'ctx'`;
}

/** `(void)` and `()` become `(HPyContext *ctx)`; otherwise `HPyContext *ctx, ` goes first. */
function addContextParameter(api: RewriteApi, params: SyntaxNode): void {
  const list = params.namedChildren.filter((c) => c.type !== 'comment');
  if (list.length === 0 || (list.length === 1 && api.text(list[0]).trim() === 'void')) {
    api.replace({ start: params.startIndex + 1, end: params.endIndex - 1 }, 'HPyContext *ctx');
    return;
  }
  if (CONTEXT_PARAM.test(api.text(list[0]))) return;
  api.insertBefore(list[0], leadingText(api, params, list[0]));
}

/** `ctx, ` before the first parameter, or a line of its own when the parameters start on a new line. */
function leadingText(api: RewriteApi, params: SyntaxNode, first: SyntaxNode): string {
  const gap = api.text({ start: params.startIndex + 1, end: first.startIndex });
  if (!gap.includes('\n')) return 'HPyContext *ctx, ';
  return `HPyContext *ctx,${api.eol}${indentationAt(api.text({ start: 0, end: first.startIndex + 1 }), first.startIndex)}`;
}

/** Prototypes of the functions that get `ctx` get it too. */
function planPrototype(api: RewriteApi, scope: ContextScope, decl: SyntaxNode, declarator: SyntaxNode): void {
  let d: SyntaxNode | null = declarator;
  while (d?.type === 'pointer_declarator') d = d.childForFieldName('declarator');
  const id = d?.type === 'function_declarator' ? d.childForFieldName('declarator') : null;
  const params = d?.childForFieldName('parameters');
  if (!id || id.type !== 'identifier' || !params || decl.childrenForFieldName('declarator').length !== 1) return;
  const name = api.text(id);
  if (!scope.needsContext(name) || scope.isWithoutContext(name, prototypeParams(api, params))) return;
  if (params.namedChildren.some((p) => p.type === 'parameter_declaration' && CONTEXT_PARAM.test(api.text(p)))) return;
  addContextParameter(api, params);
}

function prototypeParams(api: RewriteApi, params: SyntaxNode): { type: string; name: string }[] {
  return params.namedChildren.filter((p) => p.type === 'parameter_declaration').map((p) => ({ type: api.text(p), name: '' }));
}

/** `helper(a)` -> `helper(ctx, a)` where the caller has `ctx`; reported where it cannot. */
function planCall(api: RewriteApi, scope: ContextScope, call: SyntaxNode, callee: string, args: SyntaxNode): void {
  const list = callArguments(call);
  if (list.length > 0 && api.text(list[0]).trim() === 'ctx') return;
  const caller = enclosingFunction(call);
  if (!caller) {
    api.report(call, `'${callee}' needs 'ctx', which does not exist at file scope`, { notes: ['no context exists outside a function HPy calls'], suggestion: `the call of '${callee}' inside a function that receives 'HPyContext *ctx' (a value kept for the module: an HPyGlobal stored in the HPy_mod_exec slot)` });
    return;
  }
  const name = functionName(caller) ?? '';
  if (!hasContextParam(caller) && !receivesContext(scope, caller, name)) {
    api.report(call, `the call of '${callee}' is left without 'ctx'`, { notes: [noContextReason(scope, caller, name), `'${callee}' now takes HPyContext *ctx first`], suggestion: `this call moved to a function that has ctx, as '${callee}(ctx, ...)'` });
    return;
  }
  if (list.length === 0) api.replace({ start: args.startIndex + 1, end: args.endIndex - 1 }, 'ctx');
  else api.insertBefore(list[0], 'ctx, ');
}

/** A function of this file that takes `HPyContext *ctx` first, though not from this transform. */
interface ConvertedFunction {
  name: string;
  params: SyntaxNode;
  /** Number of parameters, `ctx` included; null for a variadic one. */
  count: number | null;
  /** It had no `ctx` in the original sources: another transform gave it one in this run. */
  convertedNow: boolean;
}

/**
 * Functions defined in this file whose signature takes `ctx` already: impls written by the
 * transforms of methods and slots, and hand-ported helpers. A direct call to one of them (a
 * method called from a slot) needs `ctx` too.
 */
function convertedFunctions(api: RewriteApi, scope: ContextScope): Map<string, ConvertedFunction> {
  const out = new Map<string, ConvertedFunction>();
  for (const { fn } of api.matches(FUNCTIONS)) {
    const name = functionName(fn);
    const params = functionDeclarator(fn)?.childForFieldName('parameters');
    const list = params?.namedChildren.filter((c) => c.type !== 'comment') ?? [];
    if (!name || !params || scope.needsContext(name) || list.length === 0 || !CONTEXT_PARAM.test(api.text(list[0]))) continue;
    const variadic = list.some((c) => c.type === 'variadic_parameter');
    const original = api.index.functions.find((f) => f.name === name);
    out.set(name, { name, params, count: variadic ? null : list.length, convertedNow: !!original && !original.hasContext });
  }
  return out;
}

/** `method(self, arg)` -> `method(ctx, self, arg)` when only `ctx` is missing; a call of another shape is reported. */
function planCallOfConverted(api: RewriteApi, scope: ContextScope, call: SyntaxNode, callee: ConvertedFunction, args: SyntaxNode): void {
  const list = callArguments(call);
  if (list.length > 0 && api.text(list[0]).trim() === 'ctx') return;
  if (callee.count !== null && list.length + 1 === callee.count) {
    planCall(api, scope, call, callee.name, args);
    return;
  }
  if (!callee.convertedNow) return;
  api.report(call, `the call of '${callee.name}' does not match its new signature`, {
    notes: [`'${callee.name}' now takes '${api.text(callee.params).replace(/\s+/g, ' ')}' (the arguments of an HPy impl are not those of the C-API function)`],
    suggestion: `${callee.name}(ctx, ...) with the arguments of its new signature '${api.text(callee.params).replace(/\s+/g, ' ')}'`,
  });
}
