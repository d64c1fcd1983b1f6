// Task behaviours keyed by image, set through POST /_emulator/behaviours.
import { AwsError, type TaskBehaviour } from './types.ts';

const KINDS: TaskBehaviour['kind'][] = ['healthy', 'crash', 'unhealthy', 'oom', 'pull-error', 'slow-start', 'exit'];

/** `registry.example/ns/app:tag` -> `ns/app:tag`, so a behaviour set for `app:tag` or `ns/app:tag` matches a full URI. */
function withoutRegistry(image: string): string {
  const first = image.split('/')[0] ?? '';
  return image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost') ? image.slice(first.length + 1) : image;
}

function matches(key: string, image: string, digest: string | undefined): boolean {
  if (key === image || (digest && key === digest)) return true;
  if (key.startsWith('sha256:')) return image.endsWith(`@${key}`);
  const bare = withoutRegistry(image);
  const wanted = withoutRegistry(key);
  return bare === wanted || bare.endsWith(`/${wanted}`);
}

const sameCommand = (a: string[] | undefined, b: string[] | undefined): boolean => !!a && !!b && a.length === b.length && a.every((x, i) => x === b[i]);

export class BehaviourStore {
  private entries: { image: string; behaviour: TaskBehaviour }[] = [];

  set(input: unknown): { image: string; behaviour: TaskBehaviour } {
    const o = (input ?? {}) as Record<string, unknown>;
    if (typeof o.image !== 'string' || !o.image) throw new AwsError('ValidationError', 'image is required');
    if (!KINDS.includes(o.kind as TaskBehaviour['kind'])) {
      throw new AwsError('ValidationError', `kind must be one of ${KINDS.join(', ')}`);
    }
    const behaviour: TaskBehaviour = { kind: o.kind as TaskBehaviour['kind'] };
    if (o.exitCode !== undefined) behaviour.exitCode = Number(o.exitCode);
    if (Array.isArray(o.logLines)) behaviour.logLines = o.logLines.map(String);
    if (o.startSeconds !== undefined) behaviour.startSeconds = Number(o.startSeconds);
    if (Array.isArray(o.command)) behaviour.command = o.command.map(String);
    // A later setting for the same image and command replaces the earlier one.
    const sameKey = (e: { image: string; behaviour: TaskBehaviour }): boolean =>
      e.image === o.image && (e.behaviour.command ? sameCommand(e.behaviour.command, behaviour.command) : !behaviour.command);
    this.entries = this.entries.filter((e) => !sameKey(e));
    const entry = { image: o.image, behaviour };
    this.entries.push(entry);
    return entry;
  }

  /** The behaviour for a task's container: a command-specific entry first, then the image's general one. */
  lookup(image: string, command: string[] | undefined, digest?: string): TaskBehaviour | undefined {
    const forImage = this.entries.filter((e) => matches(e.image, image, digest)).reverse();
    return (
      forImage.find((e) => e.behaviour.command && sameCommand(e.behaviour.command, command))?.behaviour ?? forImage.find((e) => !e.behaviour.command)?.behaviour
    );
  }

  list(): { image: string; behaviour: TaskBehaviour }[] {
    return [...this.entries];
  }

  clear(): void {
    this.entries = [];
  }
}
