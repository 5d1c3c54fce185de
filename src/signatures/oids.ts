/** The object identifiers of Authenticode signatures, apart from the PKI library that reads them. */
export const OID_SIGNED_DATA = "1.2.840.113549.1.7.2";
export const OID_SPC_INDIRECT_DATA = "1.3.6.1.4.1.311.2.1.4";
export const OID_SPC_PE_IMAGE_DATA = "1.3.6.1.4.1.311.2.1.15";
export const OID_SPC_NESTED_SIGNATURE = "1.3.6.1.4.1.311.2.4.1";
export const OID_SIGNING_TIME = "1.2.840.113549.1.9.5";
export const OID_RFC3161_TIMESTAMP = "1.3.6.1.4.1.311.3.3.1";
export const OID_COUNTER_SIGNATURE = "1.2.840.113549.1.9.6";

/** How deep nested signatures are followed; real images nest once. */
export const MAX_NESTING_DEPTH = 4;
