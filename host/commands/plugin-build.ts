// `passthru plugin build [DIR]`: compiles an author's detector project to DIR/build/NAME.wasm with
// the sandbox's settings and the AssemblyScript this Passthru carries (host/plugin/build.ts).
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { buildDetector, readAuthorProject } from '../plugin/build.js';

export interface BuildOptions {
  dir: string;
}

export async function runPluginBuild(o: BuildOptions, out: NodeJS.WritableStream): Promise<number> {
  const t0 = performance.now();
  const project = await readAuthorProject(resolve(o.dir));
  const { wasm, warnings } = await buildDetector({
    baseDir: project.dir,
    source: project.source,
    meta: project.meta,
    ...(project.projectConfig ? { projectConfig: project.projectConfig } : {}),
  });
  if (warnings) process.stderr.write(`${warnings}\n`);
  await mkdir(dirname(project.outFile), { recursive: true });
  await writeFile(project.outFile, wasm);
  const rel = relative(process.cwd(), project.outFile);
  out.write(
    `built ${rel} (${wasm.length} bytes, ${Math.round(performance.now() - t0)} ms): ${project.meta.name} ${project.meta.version}, protocol ${project.meta.protocol}` +
      `${project.meta.keys ? `, keys ${Object.entries(project.meta.keys).map(([k, v]) => `${k} (${v})`).join(', ')}` : ''}\n`,
  );
  return 0;
}
