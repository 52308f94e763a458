// Limits that turn abusive operations away before they run: size and bracket nesting (checked on
// the raw text, before parsing), depth, aliases and root fields (validation rules: static,
// fragments followed), and an estimated cost (a plugin hook, because only there are the variable
// values known: a `limit: $n` costs what `$n` says). Error codes are those Apollo Router uses for
// the same refusals, so a client behind a router or talking to us directly sees one vocabulary;
// a document nested too deeply is Apollo Server's GRAPHQL_PARSE_FAILED, as when graphql-js refuses it.
//
// Depth counts introspection fields like any other: in this schema no type refers back to itself,
// so the only way to nest deeply is through __schema/__type (`ofType { ofType { ... } }`), which is
// exactly what a depth limit is for. The default (15) admits graphql-js's getIntrospectionQuery().
// Cost leaves introspection and __typename out (bounded by the schema's size, limited by depth).
import type { ApolloServerPlugin } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import {
  getArgumentValues,
  getNamedType,
  getNullableType,
  GraphQLError,
  isCompositeType,
  isListType,
  Kind,
  Lexer,
  Source,
  TokenKind,
  valueFromASTUntyped,
  type ASTNode,
  type DirectiveNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { documentTooDeep } from './errors.js';

export interface GraphQLLimits {
  maxDepth: number;
  maxAliases: number;
  maxRootFields: number;
  maxCost: number;
  maxQueryBytes: number;
}

const LIMIT_ERROR_CODES = {
  depth: 'MAX_DEPTH_LIMIT',
  aliases: 'MAX_ALIASES_LIMIT',
  rootFields: 'MAX_ROOT_FIELDS_LIMIT',
  cost: 'COST_ESTIMATED_TOO_EXPENSIVE',
  querySize: 'MAX_QUERY_SIZE_LIMIT',
} as const;

/** A refused operation. Apollo reports validation errors as GRAPHQL_VALIDATION_FAILED; formatError restores this code. */
export class OperationLimitError extends GraphQLError {
  constructor(
    readonly limitCode: (typeof LIMIT_ERROR_CODES)[keyof typeof LIMIT_ERROR_CODES],
    message: string,
    details: { actual: number; max: number; nodes?: readonly ASTNode[] },
  ) {
    super(message, {
      nodes: details.nodes,
      // Apollo takes the HTTP status from `extensions.http` and leaves it out of the response.
      extensions: { code: limitCode, actual: details.actual, max: details.max, http: { status: 400, headers: new HeaderMap() } },
    });
    this.name = 'OperationLimitError';
  }
}

/** The query text's size in UTF-8 bytes against GRAPHQL_MAX_QUERY_BYTES, before anything parses it. */
export function checkQuerySize(query: string, maxBytes: number): OperationLimitError | undefined {
  // Cheap first: a string of n UTF-16 units is at most 3n UTF-8 bytes.
  if (query.length * 3 <= maxBytes) return undefined;
  const bytes = Buffer.byteLength(query, 'utf8');
  if (bytes <= maxBytes) return undefined;
  return new OperationLimitError(
    LIMIT_ERROR_CODES.querySize,
    `Query is ${bytes} bytes; the maximum is ${maxBytes} (GRAPHQL_MAX_QUERY_BYTES)`,
    {
      actual: bytes,
      max: maxBytes,
    },
  );
}

// --- nesting: on the raw text, before parsing -----------------------------------------------------

/**
 * The deepest a document's brackets ({ [ () may nest, a fragment spread counted as the fragment
 * written out in its place (an inline fragment: its braces are one level more). graphql-js parses,
 * validates (OverlappingFieldsCanBeMerged follows fragments) and executes recursively, and how many
 * levels fit on the stack is no number to rely on: it depends on the engine and on how far V8 has
 * optimized those functions in this process. Measured with graphql 16.15, Node 20.20 / 24.22: a
 * fresh process parses about 2,000 / 1,900 nested `[`, one that has parsed a few hundred ordinary
 * documents (Node 24's Maglev gets there sooner) over 6,000; validating two copies of a selection
 * chain, written out or through fragments, overflows at about 1,000 / 800 levels. This bound is far
 * below all of those and far above any useful document (graphql-js's introspection query: 18).
 */
export const MAX_NESTING = 256;

/** An operation or fragment as the scan sees it. */
interface Definition {
  /** The deepest its own brackets nest. */
  nesting: number;
  /** Its fragment spreads, each with the nesting it stands at. */
  spreads: { name: string; depth: number }[];
  /** Its selection set has closed: a bracket at the top level after it starts another definition. */
  closed: boolean;
}

/**
 * How deep `query`'s brackets ({ [ () nest with every fragment spread written out as an inline
 * fragment, read from graphql-js's own lexer (strings, comments, BOM as the parser will see them)
 * and without recursion: the document may be anything a client sends, up to GRAPHQL_MAX_QUERY_BYTES.
 * A syntax error in the tokens ends the scan: the parser stops there too, and reports it.
 * A document whose fragments spread one another in a cycle (graphql-js refuses it) has no such
 * depth; it is given a bound: every fragment's nesting added up.
 */
export function documentNesting(query: string): number {
  const fragments = new Map<string, Definition>();
  const definitions: Definition[] = [];
  const define = (): Definition => {
    const definition = { nesting: 0, spreads: [], closed: false };
    definitions.push(definition);
    return definition;
  };
  let current: Definition | undefined;
  let depth = 0;
  const lexer = new Lexer(new Source(query));
  // The token before the last one (comments left out; lexer.lastToken is the last one).
  let before = lexer.token;
  try {
    for (let token = lexer.advance(); token.kind !== TokenKind.EOF; before = lexer.lastToken, token = lexer.advance()) {
      const last = lexer.lastToken;
      switch (token.kind) {
        case TokenKind.BRACE_L:
        case TokenKind.BRACKET_L:
        case TokenKind.PAREN_L:
          // At the top level with no definition open: an operation's variables, directives or selection set.
          if (!current || (depth === 0 && current.closed)) current = define();
          current.nesting = Math.max(current.nesting, ++depth);
          break;
        case TokenKind.BRACE_R:
        case TokenKind.BRACKET_R:
        case TokenKind.PAREN_R:
          // A closing bracket with none open is a syntax error, on which graphql-js stops.
          depth = Math.max(0, depth - 1);
          if (depth === 0 && token.kind === TokenKind.BRACE_R && current) current.closed = true;
          break;
        case TokenKind.NAME:
          if (last.kind === TokenKind.SPREAD) {
            // `... on Type`: an inline fragment, whose braces are counted as they come.
            if (token.value !== 'on') current?.spreads.push({ name: token.value, depth });
          } else if (
            depth === 0 &&
            token.value === 'on' &&
            last.kind === TokenKind.NAME &&
            before.kind === TokenKind.NAME &&
            before.value === 'fragment'
          ) {
            // `fragment Name on`, known by all three tokens: `fragment` or `query` alone may name a fragment or a type.
            // A name given twice (graphql-js refuses it) is counted as one fragment with both bodies.
            current = fragments.get(last.value) ?? define();
            current.closed = false;
            fragments.set(last.value, current);
          }
      }
    }
  } catch (error) {
    if (!(error instanceof GraphQLError)) throw error;
  }
  return writtenOut(definitions, fragments);
}

/** The deepest nesting of `definitions` with their fragment spreads written out, computed with a stack of our own. */
function writtenOut(definitions: Definition[], fragments: Map<string, Definition>): number {
  const done = new Map<Definition, number>();
  let cyclic = false;
  for (const root of definitions) {
    if (done.has(root)) continue;
    const stack = [{ definition: root, next: 0, deepest: root.nesting, at: 0 }];
    const open = new Set([root]);
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      const spread = frame.definition.spreads[frame.next++];
      if (spread) {
        const fragment = fragments.get(spread.name);
        // An unknown fragment is graphql-js's to report; so is a cycle, bounded below.
        if (!fragment) continue;
        if (open.has(fragment)) {
          cyclic = true;
          continue;
        }
        const known = done.get(fragment);
        if (known !== undefined) frame.deepest = Math.max(frame.deepest, spread.depth + known);
        else {
          open.add(fragment);
          stack.push({ definition: fragment, next: 0, deepest: fragment.nesting, at: spread.depth });
        }
        continue;
      }
      stack.pop();
      open.delete(frame.definition);
      done.set(frame.definition, frame.deepest);
      const parent = stack[stack.length - 1];
      if (parent) parent.deepest = Math.max(parent.deepest, frame.at + frame.deepest);
    }
  }
  let deepest = 0;
  for (const nesting of done.values()) deepest = Math.max(deepest, nesting);
  if (!cyclic) return deepest;
  // A chain of spreads passes each fragment once before it repeats: bound it by all of them stacked on the deepest operation.
  const distinct = new Set(fragments.values());
  let stacked = 0;
  for (const definition of definitions) if (!distinct.has(definition)) stacked = Math.max(stacked, definition.nesting);
  for (const fragment of distinct) stacked += fragment.nesting;
  return Math.max(deepest, stacked);
}

/**
 * GRAPHQL_PARSE_FAILED for a query whose brackets nest deeper than MAX_NESTING, fragments written
 * out: before anything parses it, so the answer is the same on any engine and however warm the
 * parser is.
 */
export function checkNesting(query: string): GraphQLError | undefined {
  const nesting = documentNesting(query);
  return nesting > MAX_NESTING ? documentTooDeep(MAX_NESTING, nesting) : undefined;
}

// --- depth, aliases, root fields: validation rules -------------------------------------------------

/** Walks an operation with its fragments expanded, each fragment computed once (no fragment bombs, no cycles). */
function fragmentMemo<T>(
  context: ValidationContext,
  compute: (fragment: FragmentDefinitionNode, recurse: (name: string) => T) => T,
  onCycle: T,
) {
  const done = new Map<string, T>();
  const visiting = new Set<string>();
  const byName = (name: string): T => {
    const known = done.get(name);
    if (known !== undefined) return known;
    const fragment = context.getFragment(name);
    // Unknown fragments and cycles are reported by graphql-js's own rules.
    if (!fragment || visiting.has(name)) return onCycle;
    visiting.add(name);
    const value = compute(fragment, byName);
    visiting.delete(name);
    done.set(name, value);
    return value;
  };
  return byName;
}

function depthOf(selectionSet: SelectionSetNode, fragmentDepth: (name: string) => number): number {
  let deepest = 0;
  for (const selection of selectionSet.selections) {
    const depth =
      selection.kind === Kind.FIELD
        ? 1 + (selection.selectionSet ? depthOf(selection.selectionSet, fragmentDepth) : 0)
        : selection.kind === Kind.INLINE_FRAGMENT
          ? depthOf(selection.selectionSet, fragmentDepth)
          : fragmentDepth(selection.name.value);
    deepest = Math.max(deepest, depth);
  }
  return deepest;
}

function aliasesIn(selectionSet: SelectionSetNode, fragmentAliases: (name: string) => number): number {
  let count = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.alias) count += 1;
      if (selection.selectionSet) count += aliasesIn(selection.selectionSet, fragmentAliases);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      count += aliasesIn(selection.selectionSet, fragmentAliases);
    } else {
      count += fragmentAliases(selection.name.value);
    }
  }
  return count;
}

function fieldsAtTop(selectionSet: SelectionSetNode, fragmentFields: (name: string) => number): number {
  let count = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) count += 1;
    else if (selection.kind === Kind.INLINE_FRAGMENT) count += fieldsAtTop(selection.selectionSet, fragmentFields);
    else count += fragmentFields(selection.name.value);
  }
  return count;
}

/** A count over an operation's selections, fragments expanded through `fragment`. */
type Measure = (selectionSet: SelectionSetNode, fragment: (name: string) => number) => number;

/** A validation rule refusing an operation whose `measure` exceeds `max`, with `describe`'s message. */
function operationLimit(
  measure: Measure,
  max: number,
  code: OperationLimitError['limitCode'],
  describe: (actual: number) => string,
): ValidationRule {
  return (context) => {
    const fragment = fragmentMemo<number>(context, (definition, recurse) => measure(definition.selectionSet, recurse), 0);
    return {
      OperationDefinition(operation) {
        const actual = measure(operation.selectionSet, fragment);
        if (actual > max) context.reportError(new OperationLimitError(code, describe(actual), { actual, max, nodes: [operation] }));
      },
    };
  };
}

export function limitValidationRules(limits: Pick<GraphQLLimits, 'maxDepth' | 'maxAliases' | 'maxRootFields'>): ValidationRule[] {
  return [
    operationLimit(
      depthOf,
      limits.maxDepth,
      LIMIT_ERROR_CODES.depth,
      (depth) => `Query depth ${depth} exceeds the maximum depth of ${limits.maxDepth} (GRAPHQL_MAX_DEPTH)`,
    ),
    operationLimit(
      aliasesIn,
      limits.maxAliases,
      LIMIT_ERROR_CODES.aliases,
      (aliases) => `Query uses ${aliases} aliases; the maximum is ${limits.maxAliases} (GRAPHQL_MAX_ALIASES)`,
    ),
    operationLimit(
      fieldsAtTop,
      limits.maxRootFields,
      LIMIT_ERROR_CODES.rootFields,
      (fields) => `Query selects ${fields} root fields; the maximum is ${limits.maxRootFields} (GRAPHQL_MAX_ROOT_FIELDS)`,
    ),
  ];
}

// --- cost: Federation's @cost / @listSize ----------------------------------------------------------

interface FieldCost {
  /** @cost(weight:), replacing the default (1 for an object, 0 for a scalar). */
  weight?: number;
  /** @listSize */
  assumedSize?: number;
  slicingArguments?: string[];
  sizedFields?: string[];
}

/** An unannotated list is assumed to hold this many items (Apollo Router's default). */
const DEFAULT_LIST_SIZE = 10;

function directiveNamed(directives: readonly DirectiveNode[] | undefined, name: string): Record<string, unknown> | undefined {
  // Imported under its own name, or under the federation__ prefix when not imported.
  const directive = directives?.find((candidate) => candidate.name.value === name || candidate.name.value === `federation__${name}`);
  if (!directive) return undefined;
  return Object.fromEntries((directive.arguments ?? []).map((argument) => [argument.name.value, valueFromASTUntyped(argument.value)]));
}

/** The schema's @cost and @listSize applications by `Type.field`, read once at start-up. */
function costDirectives(schema: GraphQLSchema): Map<string, FieldCost> {
  const table = new Map<string, FieldCost>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!('getFields' in type) || type.name.startsWith('__') || !isCompositeType(type)) continue;
    for (const field of Object.values(type.getFields()) as GraphQLField<unknown, unknown>[]) {
      const directives = [...(field.astNode?.directives ?? [])];
      const cost = directiveNamed(directives, 'cost');
      const listSize = directiveNamed(directives, 'listSize');
      if (!cost && !listSize) continue;
      table.set(`${type.name}.${field.name}`, {
        weight: typeof cost?.weight === 'number' ? cost.weight : undefined,
        assumedSize: typeof listSize?.assumedSize === 'number' ? listSize.assumedSize : undefined,
        slicingArguments: listSize?.slicingArguments as string[] | undefined,
        sizedFields: listSize?.sizedFields as string[] | undefined,
      });
    }
  }
  return table;
}

interface CostInput {
  /**
   * The largest page any list field serves: a larger slicing argument is refused by the field
   * itself (BAD_USER_INPUT) before any work, so it is counted at this size, and the client
   * learns what is wrong with its argument rather than that the query is too expensive.
   */
  maxSliceSize: number;
  schema: GraphQLSchema;
  table: Map<string, FieldCost>;
  selectionSet: SelectionSetNode;
  rootType: GraphQLCompositeType;
  fragments: Record<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
}

/**
 * The static estimate of Apollo's demand control: a field costs its weight (1 for an object, 0 for
 * a scalar, or its @cost) plus its selections, times its list size for a list: the value of its
 * slicing argument (literal, variable or default), else @listSize(assumedSize), else 10; for
 * `_entities`, the number of representations. `sizedFields` hand the size to the named child
 * lists (a connection's `edges`) instead.
 */
function estimateCost({ maxSliceSize, schema, table, selectionSet, rootType, fragments, variables }: CostInput): number {
  const memo = new Map<string, number>();
  const visiting = new Set<string>();

  const fieldCost = (node: FieldNode, parent: GraphQLCompositeType, sizes: Map<string, number> | undefined): number => {
    const name = node.name.value;
    if (name.startsWith('__') || !('getFields' in parent)) return 0;
    const field = parent.getFields()[name] as GraphQLField<unknown, unknown> | undefined;
    if (!field) return 0;
    const annotation = table.get(`${parent.name}.${name}`) ?? {};
    const type = getNamedType(field.type);
    const own = annotation.weight ?? (isCompositeType(type) ? 1 : 0);

    let args: Record<string, unknown> = {};
    try {
      args = getArgumentValues(field, node, variables);
    } catch {
      // Invalid argument values fail at execution with a proper message; the estimate goes on without them.
    }
    const sliced = (annotation.slicingArguments ?? [])
      .map((argument) => args[argument])
      .filter((value): value is number => typeof value === 'number');
    const slicedSize = sliced.length > 0 ? Math.min(Math.max(...sliced), maxSliceSize) : undefined;
    const entities = name === '_entities' && Array.isArray(args.representations) ? args.representations.length : undefined;
    const size =
      sizes?.get(name) ?? (annotation.sizedFields ? undefined : slicedSize) ?? annotation.assumedSize ?? entities ?? DEFAULT_LIST_SIZE;

    const childSizes = annotation.sizedFields
      ? new Map(annotation.sizedFields.map((sized) => [sized, slicedSize ?? annotation.assumedSize ?? DEFAULT_LIST_SIZE]))
      : undefined;
    const children = node.selectionSet && isCompositeType(type) ? selectionsCost(node.selectionSet, type, childSizes) : 0;
    const isList = isListType(getNullableType(field.type));
    return (own + children) * (isList && !annotation.sizedFields ? size : 1);
  };

  const selectionsCost = (set: SelectionSetNode, parent: GraphQLCompositeType, sizes: Map<string, number> | undefined): number => {
    let total = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        total += fieldCost(selection, parent, sizes);
        continue;
      }
      const fragment = selection.kind === Kind.FRAGMENT_SPREAD ? fragments[selection.name.value] : selection;
      if (!fragment) continue;
      const condition = fragment.typeCondition ? schema.getType(fragment.typeCondition.name.value) : parent;
      const type = condition && isCompositeType(condition) ? condition : parent;
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        total += selectionsCost(selection.selectionSet, type, sizes);
        continue;
      }
      // A named fragment is costed once per (type, sizes), so fragments spread many times stay cheap to estimate.
      const key = `${selection.name.value}|${type.name}|${sizes ? [...sizes].join(',') : ''}`;
      if (visiting.has(key)) continue;
      let cost = memo.get(key);
      if (cost === undefined) {
        visiting.add(key);
        cost = selectionsCost(fragment.selectionSet, type, sizes);
        visiting.delete(key);
        memo.set(key, cost);
      }
      total += cost;
    }
    return total;
  };

  return selectionsCost(selectionSet, rootType, undefined);
}

/** Refuses, before execution, an operation whose estimated cost exceeds GRAPHQL_MAX_COST. */
/** The estimated cost of `operation` of `document` with `variables` (the @cost and @listSize of the schema). */
export type CostEstimator = (document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown>) => number;

export function costEstimator(schema: GraphQLSchema, maxSliceSize: number): CostEstimator {
  const table = costDirectives(schema);
  return (document, operation, variables) => {
    const rootType = schema.getRootType(operation.operation);
    if (!rootType) return 0;
    const fragments = Object.fromEntries(
      document.definitions
        .filter((definition) => definition.kind === Kind.FRAGMENT_DEFINITION)
        .map((fragment) => [fragment.name.value, fragment]),
    );
    return estimateCost({ maxSliceSize, schema, table, selectionSet: operation.selectionSet, rootType, fragments, variables });
  };
}

export function costLimitPlugin<TContext extends object>(estimate: CostEstimator, maxCost: number): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document, request }) {
          if (!operation) return;
          const cost = estimate(document, operation, request.variables ?? {});
          if (cost > maxCost) {
            throw new OperationLimitError(
              LIMIT_ERROR_CODES.cost,
              `Query's estimated cost ${cost} exceeds the maximum cost of ${maxCost} (GRAPHQL_MAX_COST)`,
              {
                actual: cost,
                max: maxCost,
                nodes: [operation],
              },
            );
          }
        },
      };
    },
  };
}
