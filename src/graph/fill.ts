/**
 * A graph call's arguments with its inputs' results in place of the Delayed values, at any
 * depth of the plain objects and arrays that hold them (copied, never changed in place).
 */
import { namedKeys } from '../pool/clone.js';
import { setOwn } from './canonical.js';
import { graphNodeOf, type GraphNode } from './delayed.js';
import type { Plan } from './plan.js';

/** The call's arguments with each input's result in place; inputs no one else needs are let go. */
export function fillInputs(plan: Plan, id: number, node: GraphNode): unknown[] {
  const args = node.args.slice();
  const first = plan.inputStart[id];
  const holders = node.holders;
  if (holders === null) {
    for (let i = 0; i < args.length; i++) {
      const arg = args[i];
      if (typeof arg !== 'object' || arg === null) continue;
      const input = graphNodeOf(arg);
      if (input !== undefined) args[i] = plan.values[plan.inputs[first + node.deps.indexOf(input)]];
    }
  } else {
    const copies = new Map<object, unknown>();
    for (let i = 0; i < args.length; i++) args[i] = fillNested(args[i], plan, id, holders, copies);
  }
  const { inputs, refs, values } = plan;
  for (let e = first; e < plan.inputStart[id + 1]; e++) {
    const input = inputs[e];
    if (--refs[input] === 0) values[input] = undefined;
  }
  return args;
}

function fillNested(value: unknown, plan: Plan, id: number, holders: ReadonlySet<object>, copies: Map<object, unknown>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const input = graphNodeOf(value);
  if (input !== undefined) return plan.values[plan.inputs[plan.inputStart[id] + plan.nodes[id].deps.indexOf(input)]];
  if (!holders.has(value)) return value;
  const known = copies.get(value);
  if (known !== undefined) return known;
  if (Array.isArray(value)) {
    // Holes stay holes; an array without any stays packed (structured clone sends a holey one slowly).
    const copy: unknown[] = [];
    copies.set(value, copy);
    for (let i = 0; i < value.length; i++) {
      if (i in value) copy.push(fillNested(value[i], plan, id, holders, copies));
      else copy.length = i + 1;
    }
    const named = copy as unknown as Record<string, unknown>;
    for (const key of namedKeys(value)) setOwn(named, key, fillNested((value as unknown as Record<string, unknown>)[key], plan, id, holders, copies));
    return copy;
  }
  const copy = (Object.getPrototypeOf(value) === null ? Object.create(null) : {}) as Record<string, unknown>;
  copies.set(value, copy);
  for (const key of Object.keys(value)) setOwn(copy, key, fillNested((value as Record<string, unknown>)[key], plan, id, holders, copies));
  return copy;
}
