// A Docker daemon of its own for a test or bench run (Debian's docker.io): empty vfs storage, a private
// socket, no network setup; stopped by its own process, never by name.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** dockerd installed, and root to run it (a rootless daemon needs a setup these tests do not make). */
export const canStartDockerDaemon = (): boolean => process.getuid?.() === 0 && spawnSync('dockerd', ['--version'], { stdio: 'ignore' }).status === 0;

/** A Docker daemon for one fresh runner: empty storage, its own socket; stopped (by its pid) after the run. */
export async function startDockerDaemon(dir: string): Promise<{ host: string; stop: () => Promise<void> }> {
  mkdirSync(dir, { recursive: true });
  const socket = join(dir, 'docker.sock');
  const daemon = spawn(
    'dockerd',
    [
      '--storage-driver',
      'vfs',
      '--iptables=false',
      '--ip6tables=false',
      '--bridge=none',
      '--host',
      `unix://${socket}`,
      '--data-root',
      join(dir, 'data'),
      '--exec-root',
      join(dir, 'exec'),
      '--pidfile',
      join(dir, 'docker.pid'),
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => daemon.once('exit', () => resolve()));
  const host = `unix://${socket}`;
  const deadline = Date.now() + 30_000;
  while (spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { env: { ...process.env, DOCKER_HOST: host }, stdio: 'ignore' }).status !== 0) {
    if (Date.now() > deadline || daemon.exitCode !== null) throw new Error('dockerd did not answer within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    host,
    stop: async () => {
      daemon.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
