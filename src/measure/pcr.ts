/**
 * TPM PCR arithmetic as systemd-measure does it in software (src/measure/measure-tool.c):
 * extend(pcr, data) = H(pcr || H(data)) with the bank's hash, PCRs start at zero; boot phases are
 * extended word by word (H(word), no NUL); and the TPM2 PolicyPCR digest that
 * `systemd-measure sign` signs (TPM 2.0 Library, Part 3, TPM2_PolicyPCR):
 *
 *   policyDigest = SHA256(0^32 || TPM_CC_PolicyPCR || TPML_PCR_SELECTION || SHA256(PCR value))
 *
 * Web Crypto only: the core stays platform-neutral.
 */
import { ErrorCode, KimgError } from "../io/errors.js";
import type { PcrBank } from "./types.js";

/** The banks systemd-measure computes, with their Web Crypto name, size and TPM_ALG_ID. */
export const PCR_BANKS: Readonly<Record<PcrBank, { webCrypto: string; bytes: number; tpmAlg: number }>> = {
  sha1: { webCrypto: "SHA-1", bytes: 20, tpmAlg: 0x0004 },
  sha256: { webCrypto: "SHA-256", bytes: 32, tpmAlg: 0x000b },
  sha384: { webCrypto: "SHA-384", bytes: 48, tpmAlg: 0x000c },
  sha512: { webCrypto: "SHA-512", bytes: 64, tpmAlg: 0x000d },
};

/** The four banks, in the order systemd-measure prints them. */
export const ALL_BANKS: readonly PcrBank[] = ["sha1", "sha256", "sha384", "sha512"];

export function isPcrBank(name: string): name is PcrBank {
  return Object.hasOwn(PCR_BANKS, name);
}

/** PCR 11: systemd's TPM2_PCR_KERNEL_BOOT, where systemd-stub measures the UKI and systemd-pcrphase the phases. */
export const PCR_KERNEL_BOOT = 11;
/** PCR 12: TPM2_PCR_KERNEL_CONFIG, where systemd-stub measures add-ons, credentials and an overridden command line. */
export const PCR_KERNEL_CONFIG = 12;

/**
 * The words systemd-pcrphase measures into PCR 11 during boot, in order (systemd-pcrphase*.service):
 * enter-initrd, leave-initrd (initrd), sysinit, ready (host), shutdown, final.
 */
export const BOOT_PHASE_WORDS = ["enter-initrd", "leave-initrd", "sysinit", "ready", "shutdown", "final"] as const;

/** The cumulative phases, as `systemd-measure calculate --phase=` takes them ("enter-initrd:leave-initrd" ...). */
export const DEFAULT_PHASES: readonly string[] = BOOT_PHASE_WORDS.map((_, i) => BOOT_PHASE_WORDS.slice(0, i + 1).join(":"));

export async function digest(bank: PcrBank, data: Uint8Array): Promise<Uint8Array> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new KimgError(ErrorCode.UNSUPPORTED, "WebCrypto (crypto.subtle) is not available here", { structure: "PCR digest" });
  return new Uint8Array(await subtle.digest(PCR_BANKS[bank].webCrypto, data as Uint8Array<ArrayBuffer>));
}

export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** PCR extend: H(pcr || eventDigest). */
export async function extend(bank: PcrBank, pcr: Uint8Array, eventDigest: Uint8Array): Promise<Uint8Array> {
  return digest(bank, concat(pcr, eventDigest));
}

export function zeroPcr(bank: PcrBank): Uint8Array {
  return new Uint8Array(PCR_BANKS[bank].bytes);
}

const ascii = new TextEncoder();

/**
 * A phase as systemd-measure reads `--phase=`: its words without empty ones, joined by ":"
 * (":" and "" are both the empty phase, "a::b" is "a:b").
 */
export function normalisePhase(phase: string): string {
  return phase
    .split(":")
    .filter((w) => w !== "")
    .join(":");
}

/** Extends `pcr` with the words of a phase expression ("enter-initrd:leave-initrd"); empty words are skipped, as systemd-measure does. */
export async function extendPhase(bank: PcrBank, pcr: Uint8Array, phase: string): Promise<Uint8Array> {
  let value = pcr;
  for (const word of phase.split(":")) {
    if (word === "") continue;
    value = await extend(bank, value, await digest(bank, ascii.encode(word)));
  }
  return value;
}

/** TPM_CC_PolicyPCR (TPM 2.0 Part 2, table 12). */
const TPM_CC_POLICY_PCR = 0x0000017f;

/**
 * The TPM2 PolicyPCR digest of one PCR value in one bank, as systemd's tpm2_calculate_policy_pcr
 * computes it for `systemd-measure sign`: a SHA-256 policy session starting at zero, the PCR
 * selection (one TPMS_PCR_SELECTION: the bank's TPM_ALG_ID, sizeofSelect 3, the PCR's bit) and
 * the SHA-256 of the selected PCR value.
 */
export async function policyPcrDigest(bank: PcrBank, pcr: number, value: Uint8Array): Promise<Uint8Array> {
  const selection = new Uint8Array(4 + 2 + 1 + 3);
  const v = new DataView(selection.buffer);
  v.setUint32(0, 1); // TPML_PCR_SELECTION.count
  v.setUint16(4, PCR_BANKS[bank].tpmAlg); // TPMS_PCR_SELECTION.hash
  selection[6] = 3; // sizeofSelect: PCRs 0-23
  selection[7 + (pcr >> 3)] = 1 << (pcr & 7);
  const cc = new Uint8Array(4);
  new DataView(cc.buffer).setUint32(0, TPM_CC_POLICY_PCR);
  const pcrDigest = await digest("sha256", value);
  return digest("sha256", concat(new Uint8Array(32), cc, selection, pcrDigest));
}
