// Fault injection rules set through POST /_emulator/faults; a seeded PRNG makes runs repeatable.
import { AwsError } from './types.ts';

export type FaultKind = 'ThrottlingException' | 'InternalFailure' | 'drop' | 'latency';
const KINDS: FaultKind[] = ['ThrottlingException', 'InternalFailure', 'drop', 'latency'];

export interface FaultRule {
  service: string;
  operation?: string;
  error: FaultKind;
  rate: number;
  latencyMs?: number;
  seed?: number;
}

/** mulberry32: small, fast and good enough to spread faults evenly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultStore {
  private rules: { rule: FaultRule; random: () => number }[] = [];

  add(input: unknown): FaultRule {
    const o = (input ?? {}) as Record<string, unknown>;
    if (typeof o.service !== 'string' || !o.service) throw new AwsError('ValidationError', 'service is required');
    if (!KINDS.includes(o.error as FaultKind)) {
      throw new AwsError('ValidationError', `error must be one of ${KINDS.join(', ')}`);
    }
    const rate = o.rate === undefined ? 1 : Number(o.rate);
    if (!(rate >= 0 && rate <= 1)) throw new AwsError('ValidationError', 'rate must be between 0 and 1');
    const rule: FaultRule = { service: o.service, error: o.error as FaultKind, rate };
    if (typeof o.operation === 'string') rule.operation = o.operation;
    if (o.latencyMs !== undefined) rule.latencyMs = Number(o.latencyMs);
    if (o.seed !== undefined) rule.seed = Number(o.seed);
    this.rules.push({ rule, random: prng(rule.seed ?? Math.floor(Math.random() * 2 ** 32)) });
    return rule;
  }

  clear(): void {
    this.rules = [];
  }

  list(): FaultRule[] {
    return this.rules.map((r) => r.rule);
  }

  /** The faults that hit this call: each matching rule rolls its own die. */
  pick(service: string, operation: string): FaultRule[] {
    return this.rules
      .filter(({ rule }) => (rule.service === service || rule.service === '*') && (!rule.operation || rule.operation === operation))
      .filter(({ rule, random }) => random() < rule.rate)
      .map(({ rule }) => rule);
  }
}
