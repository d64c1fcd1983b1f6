// Identifiers shaped like AWS's.
import { randomBytes, randomUUID } from 'node:crypto';

export const hex = (chars: number): string =>
  randomBytes(Math.ceil(chars / 2))
    .toString('hex')
    .slice(0, chars);

/** ECS task IDs: 32 hex characters. */
export const taskId = (): string => randomUUID().replace(/-/g, '');

/** ECS deployment IDs: ecs-svc/ and 19 digits. */
export const deploymentId = (): string => {
  let digits = String(1 + Math.floor(Math.random() * 9));
  while (digits.length < 19) digits += String(Math.floor(Math.random() * 10));
  return `ecs-svc/${digits}`;
};

export const digits = (n: number): string => {
  let s = '';
  while (s.length < n) s += String(Math.floor(Math.random() * 10));
  return s;
};
