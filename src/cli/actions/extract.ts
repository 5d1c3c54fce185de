/** What `kimg extract` does (`cli/extract.ts` defines the command): loaded only when it runs. */
import { basename, dirname, join, resolve } from "node:path";
import { unpack, unpackLayers } from "../../api/unpack.js";
// Initramfs archives (issue 16)
import { archivesOf } from "../../api/archive.js";
import { writeArchive } from "../../node/archive-writer.js";
import { diagnosticLine } from "../../report/diagnostic.js";
import { ErrorCode, KimgError } from "../../io/errors.js";
import { insideDir, OutputSet, prepareWrites } from "../../node/files.js";
import { writeStdout } from "../../node/stdout.js";
import { layerFileName } from "../../report/file-names.js";
import type { ImageFlags } from "../options.js";
import { readImage } from "../read-image.js";
import { writeStderr } from "../../node/stderr.js";

export interface ExtractOptions extends ImageFlags {
  output?: string;
  layer?: string;
  all?: string;
  trim?: boolean;
  force?: boolean;
  sync?: boolean;
  json?: boolean;
}

export const actions = {
  async extract(file: string, opts: ExtractOptions): Promise<void> {
    if (!opts.output && !opts.all) throw new KimgError(ErrorCode.USAGE, "say where to write: -o OUT (or -o - for stdout) or --all DIR");
    if (opts.output && opts.all) throw new KimgError(ErrorCode.USAGE, "-o and --all exclude each other");
    const { bytes: input, options: common } = await readImage(file, opts, {
      progress: !opts.json && opts.output !== "-",
      // The kernel is not searched for its markers (see below), nor should the file be.
      scanAhead: false,
      // Loading what writing needs costs as much as reading a 10 MB image: do both at once.
      ...(opts.output !== "-" ? { whileReading: prepareWrites } : {}),
    });
    const archivesWritten: Array<Record<string, unknown>> = [];
    const written: Array<{ layer: string; format: string; path: string; bytes: number; trimmedBytes?: number }> = [];
    if (opts.all) {
      const { layers, report } = await unpackLayers(input, { ...common, trim: opts.trim ?? false, reportDetails: false });
      // The whole set appears together or not at all (see OutputSet); DIR is made at the end.
      const set = await OutputSet.open(opts.all, { force: opts.force ?? false, sync: opts.sync ?? false, protect: [file], createDir: true });
      try {
        for (const { layer, data, trimmedBytes } of layers) {
          const name = layerFileName(layer);
          if (!insideDir("/kimg-out", name)) throw new KimgError(ErrorCode.IO, `unsafe output name ${name}`);
          await set.add(name, data, join(opts.all, name));
          written.push({ layer: layer.path, format: layer.format, path: join(opts.all, name), bytes: data.length, ...(trimmedBytes ? { trimmedBytes } : {}) });
        }
        set.commit();
      } finally {
        await set.dispose();
      }
      // Initramfs archives (issue 16): each archive's files into a new folder beside the layers.
      const layerBytes = new Map(layers.map((l) => [l.layer.path, l.data]));
      for (const a of archivesOf(report, layerBytes, common)) {
        for (const s of a.plan.skipped) {
          const line = diagnosticLine({
            code: s.code,
            severity: s.code === "ARCHIVE_DUPLICATE_NAME" || s.code === "ARCHIVE_MODE_MASKED" ? "info" : "warning",
            message: s.message,
            offset: s.offset,
            layer: a.layer.path,
          });
          if (!opts.json) writeStderr(`${line}\n`);
        }
        const done = writeArchive(join(opts.all, a.dirName), a.plan, a.data);
        archivesWritten.push({ layer: a.layer.path, ...done, skipped: a.plan.skipped });
      }
    } else {
      // The output file is opened first and written while its layer decodes (lz4 and LZO, whose
      // blocks are final as they come: the copy into the page cache overlaps the decoding); the
      // rest, or a layer that turns out not to be the one written, once unpacked.
      const target = opts.output === "-" ? null : resolve(opts.output as string);
      const set = target
        ? await OutputSet.open(dirname(target), { force: opts.force ?? false, sync: opts.sync ?? false, protect: [file], createDir: false })
        : null;
      try {
        const streamed = set && target ? await set.addStreamed(basename(target), opts.output) : null;
        let streamedLayer: string | undefined;
        const onDecodeOutput = (e: { layer: string; bytes: Uint8Array; upTo: number }): void => {
          if (opts.layer !== undefined && e.layer !== opts.layer) return;
          // The first layer decoded is the kernel's payload, which extract writes unless told
          // otherwise. When it is not (a UKI whose compressed .initrd comes before .linux), complete
          // writes the kernel over it afterwards: the same file, only not overlapped.
          streamedLayer ??= e.layer;
          if (e.layer === streamedLayer) streamed?.offer(e.bytes, e.upTo);
        };
        // No search of the kernel for its .config or built-in initramfs (tens of MB) unless the
        // layer asked for is not found without: then it may be that initramfs or inside it. No
        // work for a report that is not shown either (the boot plan, a bzImage's CRC-32 over the
        // whole file, signature summaries).
        const one = (kernelContents: boolean) =>
          unpack(input, {
            ...common,
            ...(opts.layer ? { layer: opts.layer } : {}),
            kernelContents,
            reportDetails: false,
            trim: opts.trim ?? false,
            ...(streamed ? { onDecodeOutput } : {}),
          });
        const result = await one(false).catch((error: unknown) => {
          if (opts.layer !== undefined && error instanceof KimgError && error.code === ErrorCode.NO_SUCH_LAYER) return one(true);
          throw error;
        });
        const errors = result.report.diagnostics.filter((d) => d.severity === "error");
        if (opts.layer === undefined && errors.length) {
          const e = errors[0];
          throw new KimgError(ErrorCode.CORRUPT_STREAM, `the kernel was not reached cleanly: ${e?.code} ${e?.message}`, { offset: e?.offset ?? undefined });
        }
        if (set && streamed) {
          await streamed.complete(result.data, result.path === streamedLayer);
          set.commit();
        } else {
          await writeStdout(result.data);
        }
        written.push({
          layer: result.path,
          format: result.format,
          path: opts.output as string,
          bytes: result.data.length,
          ...(result.trimmedBytes ? { trimmedBytes: result.trimmedBytes } : {}),
        });
      } finally {
        await set?.dispose();
      }
    }
    if (opts.output === "-") return;
    if (opts.json) await writeStdout(JSON.stringify({ written, ...(archivesWritten.length ? { archives: archivesWritten } : {}) }, null, 2) + "\n");
    else {
      for (const w of written)
        writeStderr(`wrote ${w.path}: ${w.layer} (${w.format}), ${w.bytes} bytes${w.trimmedBytes ? `, ${w.trimmedBytes} padding bytes trimmed` : ""}\n`);
      for (const a of archivesWritten)
        writeStderr(
          `extracted ${String(a.layer)} into ${String(a.dir)}: ${String(a.files)} files, ${String(a.dirs)} folders, ${String(a.symlinks)} symlinks, ${String(a.hardlinks)} hard links, ${String(a.bytes)} bytes\n`,
        );
    }
  },
};
