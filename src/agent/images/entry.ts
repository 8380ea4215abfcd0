/**
 * The lean entry point of the builtin images, bundled as dist/image.cjs: `node dist/image.cjs
 * <runner> [args…]`. It loads only the image servers, not the whole svcnet CLI, so a container
 * of a builtin image starts in about half the CPU time and with less memory than `svcnet image`.
 */
import { runImage } from './main.js';

runImage(process.argv[2] ?? '', process.argv.slice(3)).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
