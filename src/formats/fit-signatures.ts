/**
 * The `signature-*` nodes of a U-Boot FIT, under image nodes and configuration nodes, as mkimage
 * writes them (U-Boot doc/usage/fit/signature.rst, tools/image-host.c fit_image_write_sig):
 * algo, padding, key-name-hint, signer-name, signer-version, comment, timestamp, value, and for
 * a configuration hashed-nodes, hashed-strings and sign-images. Read here, checked by
 * signatures/fit-verify.ts.
 */
import { getProperty, stringListProperty, stringProperty, u32Property } from "../io/fdt.js";
import type { FdtNode } from "../io/fdt.js";
import type { FitSignatureFacts } from "../model/facts.js";
import type { JsonValue } from "../model/report.js";

/** A `signature-*` subnode, as U-Boot's fit_image_verify_sig and fit_config_verify_key pick them (the name starts with "signature"). */
export function isSignatureNode(node: FdtNode): boolean {
  return node.name.startsWith("signature");
}

/** The signature nodes under an image or configuration node. */
export function readFitSignatures(node: FdtNode): FitSignatureFacts[] {
  return node.children.filter(isSignatureNode).map(readFitSignature);
}

export function readFitSignature(node: FdtNode): FitSignatureFacts {
  const value = node.properties.find((p) => p.name === "value");
  const strings = getProperty(node, "hashed-strings");
  const stringsView = strings && strings.length >= 8 ? new DataView(strings.buffer, strings.byteOffset, 8) : null;
  return {
    node: node.name,
    algo: stringProperty(node, "algo") ?? null,
    padding: stringProperty(node, "padding") ?? null,
    keyNameHint: stringProperty(node, "key-name-hint") ?? null,
    signerName: stringProperty(node, "signer-name") ?? null,
    signerVersion: stringProperty(node, "signer-version") ?? null,
    comment: stringProperty(node, "comment") ?? null,
    timestamp: u32Property(node, "timestamp") ?? null,
    hashedNodes: stringListProperty(node, "hashed-nodes") ?? null,
    hashedStrings: stringsView ? [stringsView.getUint32(0), stringsView.getUint32(4)] : null,
    signImages: stringListProperty(node, "sign-images") ?? null,
    valueLength: value?.value.length ?? 0,
    valueOffset: value?.offset ?? null,
  };
}

/** A signature node as the FIT layer's `info` shows it; offsets in the file (`base` added). */
export function signatureInfo(s: FitSignatureFacts, base: number): JsonValue {
  return {
    node: s.node,
    algo: s.algo,
    // U-Boot's default padding (RSA_DEFAULT_PADDING_NAME) applies to RSA only.
    padding: s.padding ?? (s.algo?.includes(",rsa") ? "pkcs-1.5" : null),
    keyNameHint: s.keyNameHint,
    signerName: s.signerName,
    signerVersion: s.signerVersion,
    comment: s.comment,
    timestamp: s.timestamp === null ? null : new Date(s.timestamp * 1000).toISOString(),
    hashedNodes: s.hashedNodes,
    hashedStrings: s.hashedStrings,
    signImages: s.signImages,
    valueLength: s.valueLength,
    valueOffset: s.valueOffset === null ? null : base + s.valueOffset,
  };
}
