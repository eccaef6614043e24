/**
 * The `PyObject *` members of object structs that code staying on the C API uses, for a
 * `--target hybrid` run. A function without `ctx` (a legacy slot or method) cannot load or store
 * an `HPyField`, so such a member stays `PyObject *`; the type then keeps its C-API lifecycle
 * (`tp_dealloc`, `tp_traverse`, `tp_clear` in `.legacy_slots`: HPy releases and visits only
 * HPyFields), and HPy code reaches the member through `HPy_FromPyObject`/`HPy_AsPyObject`.
 * Shared by pytype-spec, which decides the legacy slots before any of this is written, and
 * pyobject-field, which keeps the members and bridges the HPy code to them, so that both read
 * the same uses.
 */
import { functionName, functionParams, unparenthesize } from './c-syntax.js';
import { declarationsOf } from './c-declarations.js';
import { contextScope, definitionMacroImpls } from './context-scope.js';
import { functionKind } from './function-kinds.js';
import type { RewriteApi, SyntaxNode } from './types.js';

/** The struct whose members are looked for: its typedef name, tag and `PyObject *` members. */
export interface MemberOwner {
  name: string | null;
  tag: string | null;
  objectFields: readonly string[];
}

/** One use of an object member in a legacy function. */
export interface LegacyMemberUse {
  member: string;
  /** The `p->member` expression. */
  access: SyntaxNode;
  /** The function it is in. */
  fn: SyntaxNode;
}

const ACCESSES = '(field_expression argument: (_) @base field: (field_identifier) @field) @access';
const CAST_TYPE = /^(struct \w+|\w+) ?\*$/;

/**
 * The uses of the struct's `PyObject *` members (`p->f`, `((T *)o)->f`) in `functions`, each
 * through a pointer declared or cast to the struct.
 */
export function memberUsesIn(api: RewriteApi, owner: MemberOwner, functions: readonly SyntaxNode[]): LegacyMemberUse[] {
  const out: LegacyMemberUse[] = [];
  for (const fn of functions) {
    const body = fn.childForFieldName('body');
    if (!body) continue;
    const decls = declarationsOf(api, fn);
    for (const m of api.matches(ACCESSES, body)) {
      const member = api.text(m.field);
      if (!owner.objectFields.includes(member) || !m.access.children.some((c) => c.type === '->')) continue;
      const base = unparenthesize(m.base);
      let type: string | null = null;
      if (base.type === 'identifier') {
        const d = decls.get(api.text(base));
        type = d && d.pointers === 1 ? d.type : null;
      } else if (base.type === 'cast_expression') {
        type = CAST_TYPE.exec(api.text(base.childForFieldName('type')!).replace(/\s+/g, ' ').trim())?.[1] ?? null;
      }
      if (type !== null && namesStruct(owner, type)) out.push({ member, access: m.access, fn });
    }
  }
  return out;
}

function namesStruct(owner: MemberOwner, type: string): boolean {
  const t = type.replace(/\s+/g, ' ').trim();
  return t === owner.name || (owner.tag !== null && t === `struct ${owner.tag}`);
}

/**
 * The functions of the file that stay on the C API as the text is now: C-API functions without
 * `ctx` (legacy slots, legacy methods, traverse functions taking a `visitproc`), leaving out the
 * project's helpers that missing-context gives a `ctx` and the impls HPy calls without one
 * (`HPy_tp_destroy`, an HPy traverse).
 */
export function legacyFunctions(api: RewriteApi, root: SyntaxNode, text: string): SyntaxNode[] {
  const scope = contextScope(api.index, text, api.target);
  const impls = definitionMacroImpls(text).all;
  return root.descendantsOfType('function_definition').filter((fn) => {
    const name = functionName(fn) ?? '';
    if (functionKind(fn, text, impls) !== 'legacy') return false;
    const helper = !scope.isCallback(name) && scope.needsContext(name) && !scope.isWithoutContext(name, functionParams(fn));
    return !helper;
  });
}
