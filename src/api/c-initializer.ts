/**
 * Brace initializers (`{ "m.T", sizeof(T), .tp_new = f }`): which struct field each element
 * initializes, for the positional, designated and mixed forms.
 */
import type { SyntaxNode } from './types.js';

/** One initialized field: its name and the value node. */
export interface InitializedField {
  field: string;
  value: SyntaxNode;
  /** The element as written (the value, or the whole `.field = value` pair). */
  element: SyntaxNode;
}

/** The fields of an initializer, and the elements that could not be placed. */
export interface InitializerReading {
  fields: InitializedField[];
  /** Nested designators, array designators, preprocessor lines, extra elements. */
  unreadable: SyntaxNode[];
}

/** The elements of an `initializer_list`, comments left out. */
export function initializerElements(list: SyntaxNode): SyntaxNode[] {
  return list.namedChildren.filter((n) => n.type !== 'comment');
}

/**
 * Places `elements` on the struct fields of `order` the way C does: a positional element takes
 * the field after the previous one, a designator `.f = v` moves the position to `f`.
 */
export function readInitializer(elements: readonly SyntaxNode[], order: readonly string[]): InitializerReading {
  const fields: InitializedField[] = [];
  const unreadable: SyntaxNode[] = [];
  let next = 0;
  for (const element of elements) {
    if (element.type === 'initializer_pair') {
      const designators = element.childrenForFieldName('designator');
      const value = element.childForFieldName('value');
      const name = designators.length === 1 && designators[0].type === 'field_designator' ? designators[0].namedChildren[0]?.text : undefined;
      const index = name ? order.indexOf(name) : -1;
      if (index < 0 || !value) {
        unreadable.push(element);
        continue;
      }
      fields.push({ field: order[index], value, element });
      next = index + 1;
    } else if (next < order.length && !element.type.startsWith('preproc') && element.type !== 'ERROR') {
      fields.push({ field: order[next++], value: element, element });
    } else {
      unreadable.push(element);
    }
  }
  return { fields, unreadable };
}
