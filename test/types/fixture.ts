// A task module for the type tests: its exports are the tasks.
export function square(x: number): number {
  return x * x;
}

export function add(a: number, b: number): number {
  return a + b;
}

export async function greet(name: string, excited?: boolean): Promise<string> {
  return excited ? `hello ${name}!` : `hello ${name}`;
}

export function nothing(): void {}

export const version = '1.0';

export function parse(text: string): number;
export function parse(value: number): string;
export function parse(input: string | number): number | string {
  return typeof input === 'string' ? Number(input) : String(input);
}

export function wrap<T>(x: T): T[] {
  return [x];
}
