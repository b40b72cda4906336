/**
 * Pictures of a graph: Graphviz DOT (`dot -Tsvg`) and Mermaid (Markdown
 * renderers). One box per node, labelled with its task's name and the start
 * of its key; an arrow from each input to the node that uses it.
 */
import { InvalidTypeError } from '../errors.js';
import { graphNodeOf, type Delayed, type GraphNode } from './delayed.js';

interface Drawn {
  nodes: GraphNode[];
  edges: Array<[from: number, to: number]>;
}

/** Every node the given ones need, once each (by key), inputs before their users. */
function collect(x: Delayed<unknown> | readonly unknown[], where: string): Drawn {
  const list = Array.isArray(x) ? x : [x];
  const index = new Map<string, number>();
  const nodes: GraphNode[] = [];
  const edges: Array<[number, number]> = [];
  const visit = (root: GraphNode): void => {
    // Iterative post-order, so a chain of 100,000 nodes does not overflow the stack.
    const stack: Array<[GraphNode, number]> = [[root, 0]];
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const [node, next] = top;
      if (next === 0 && index.has(node.key)) {
        stack.pop();
        continue;
      }
      if (next < node.deps.length) {
        top[1]++;
        stack.push([node.deps[next], 0]);
        continue;
      }
      stack.pop();
      if (index.has(node.key)) continue; // an equal call reached by another path meanwhile
      const id = nodes.push(node) - 1;
      index.set(node.key, id);
      const inputs = new Set<number>();
      for (const dep of node.deps) inputs.add(index.get(dep.key) as number);
      for (const from of inputs) edges.push([from, id]);
    }
  };
  for (const item of list) {
    const node = graphNodeOf(item);
    // In a list, a plain value is drawn as nothing, as compute() returns it as it is.
    if (node === undefined && !Array.isArray(x)) throw new InvalidTypeError(`${where}: expected a Delayed or an array of values and Delayeds`);
    if (node !== undefined) visit(node);
  }
  return { nodes, edges };
}

function label(node: GraphNode): string {
  const dash = node.key.lastIndexOf('-');
  return `${node.spec.name}\n${node.key.slice(dash + 1, dash + 9)}`;
}

function dotString(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** The graph ending at `x` in Graphviz DOT: `dot -Tsvg graph.dot > graph.svg`. */
export function toDot(x: Delayed<unknown> | readonly unknown[]): string {
  const { nodes, edges } = collect(x, 'toDot');
  const lines = ['digraph forkjoin {', '  rankdir=BT;', '  node [shape=box, style=rounded, fontname="Helvetica"];'];
  for (const node of nodes) lines.push(`  ${dotString(node.key)} [label=${dotString(label(node))}];`);
  for (const [from, to] of edges) lines.push(`  ${dotString(nodes[from].key)} -> ${dotString(nodes[to].key)};`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

function mermaidText(text: string): string {
  return `"${text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\n/g, '<br/>')}"`;
}

/** The graph ending at `x` as a Mermaid flowchart, for Markdown that renders Mermaid. */
export function toMermaid(x: Delayed<unknown> | readonly unknown[]): string {
  const { nodes, edges } = collect(x, 'toMermaid');
  const lines = ['flowchart BT'];
  nodes.forEach((node, i) => lines.push(`  n${i}[${mermaidText(label(node))}]`));
  for (const [from, to] of edges) lines.push(`  n${from} --> n${to}`);
  return `${lines.join('\n')}\n`;
}
