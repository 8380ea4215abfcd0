/**
 * `kubectl attach` and `kubectl run -i/-it`: a client joins a running container's main process.
 * Its output from now on is copied to the client (the log keeps everything), its stdin receives
 * what the client types, and with a terminal the client's size is applied to it. Several clients
 * may attach at once. With `stdinOnce` the container's stdin closes when the first attached
 * client closes it or goes away, as container runtimes do.
 */
import { PassThrough, Writable } from 'node:stream';
import type { RemoteCommandBackend, RemoteCommandOptions, RemoteCommandProcess } from '../../streaming/remotecommand.js';
import type { PodWorker } from '../pod-worker.js';

/** The backend that attaches to a container of the worker's pod. */
export function attachBackend(worker: PodWorker): RemoteCommandBackend {
  return {
    start(options: RemoteCommandOptions): RemoteCommandProcess {
      const name = options.container ?? worker.containerNames()[0] ?? '';
      const proc = worker.containerProcess(name);
      if (!proc) throw new Error(`container not found ("${name}")`);
      const spec = worker.pod.spec?.containers?.find((c) => c.name === name);
      const { child } = proc;
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      const copyOut = (chunk: Buffer) => stdout.write(chunk);
      const copyErr = (chunk: Buffer) => stderr.write(chunk);
      if (options.stdout) child.stdout?.on('data', copyOut);
      if (options.stderr && !proc.tty) child.stderr?.on('data', copyErr);

      let detached = false;
      let end: () => void = () => {};
      const ended = new Promise<{ exitCode: number }>((resolve) => {
        // Attach reports success however the container ends: there is no command of its own to fail.
        end = () => resolve({ exitCode: 0 });
      });
      const closeContainerStdin = () => {
        if (spec?.stdinOnce) child.stdin?.end();
      };
      const detach = () => {
        if (detached) return;
        detached = true;
        child.stdout?.off('data', copyOut);
        child.stderr?.off('data', copyErr);
        stdout.end();
        stderr.end();
        end();
      };
      void proc.exited.then(detach);

      const containerStdin = options.stdin ? child.stdin : null;
      const stdin = containerStdin
        ? new Writable({
            write(chunk: Buffer, _encoding, callback) {
              if (containerStdin.writable) containerStdin.write(chunk, () => callback());
              else callback();
            },
            final(callback) {
              closeContainerStdin();
              callback();
            },
          })
        : undefined;
      return {
        stdin,
        stdout: options.stdout ? stdout : undefined,
        stderr: options.stderr && !proc.tty ? stderr : undefined,
        resize: (size) => proc.resize(size),
        wait: () => ended,
        abort: () => {
          if (options.stdin) closeContainerStdin();
          detach();
        },
      };
    },
  };
}
