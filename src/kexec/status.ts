/** What the running kernel says about kexec (`kimg kexec status`); read by src/node/kexec/status.ts. */
export interface KexecStatus {
  /** /sys/kernel/kexec_loaded: a kernel is loaded for `kexec exec`; null when unreadable. */
  loaded: boolean | null;
  crashLoaded: boolean | null;
  /** /proc/sys/kernel/kexec_load_disabled. */
  loadDisabled: boolean | null;
  /** The active lockdown mode, or null when the lockdown LSM is absent. */
  lockdown: "none" | "integrity" | "confidentiality" | null;
  /** Whether kexec_file_load exists ("unknown" without root or without koffi). */
  fileLoad: "yes" | "no" | "unknown";
  /** EFI Secure Boot state from efivarfs, null when not an EFI boot or unreadable. */
  secureBoot: boolean | null;
}
