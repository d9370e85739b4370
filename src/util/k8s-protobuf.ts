// The Kubernetes API's protobuf encoding of an EndpointSlice list, as data: which field number is
// which JSON field. The agent decodes its EndpointSlice lists with it (src/k8s/protobuf.ts) and
// the API double encodes them (src/fakeapi/protobuf.ts), so both read one table.
//
// Why protobuf, and for EndpointSlices only: at 10,000 Services × 10 endpoints the slices are
// ~26 MB of JSON against ~11 MB of protobuf, and JSON.parse builds every field, each endpoint's
// targetRef included, where the protobuf decoder skips a field it does not read by its length.
// kube-proxy asks for protobuf too (its client's default content type). Services (~10 times
// smaller) and Nodes stay JSON, as do watches: one event at a time is small.
//
// The field numbers are those of k8s.io/api's generated.proto (discovery/v1, core/v1
// ObjectReference) and k8s.io/apimachinery's (meta/v1 ObjectMeta, ListMeta, Time; runtime
// Unknown). A response is the 4 bytes `k8s\0`, then a runtime.Unknown whose `raw` is the List.

/** The Content-Type of the API's protobuf encoding. */
export const PROTOBUF = 'application/vnd.kubernetes.protobuf';
/** What starts every protobuf body the API server writes. */
export const PROTOBUF_MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]); // "k8s\0"

/** Wire types: how a field's value is written after its tag (field number × 8 + wire type). */
export const VARINT = 0;
export const I64 = 1;
export const LEN = 2;
export const I32 = 5;

/** A field's type. `time` is a meta/v1 Time message (seconds, nanos), an RFC 3339 string in JSON;
 *  `map` is map<string, string> (repeated {key = 1, value = 2}). */
export type Scalar = 'string' | 'bool' | 'int32' | 'int64' | 'time' | 'map';

export interface Field {
  /** The field number. */
  n: number;
  /** The JSON name. */
  name: string;
  type: Scalar | Message;
  repeated?: true;
  /** The agent's model does not read it: the decoder skips it (the double still writes it). */
  skip?: true;
}

export interface Message {
  name: string;
  fields: readonly Field[];
}

const msg = (name: string, fields: Field[]): Message => ({ name, fields });

export const TIME = msg('Time', [
  { n: 1, name: 'seconds', type: 'int64' },
  { n: 2, name: 'nanos', type: 'int32' },
]);

/** meta/v1 ObjectMeta, the fields the double's objects carry. Not here, as the model reads none
 *  of them: generateName 2, selfLink 4, deletionTimestamp 9, deletionGracePeriodSeconds 10,
 *  ownerReferences 13, finalizers 14, managedFields 17 (the decoder skips any field not here). */
export const OBJECT_META = msg('ObjectMeta', [
  { n: 1, name: 'name', type: 'string' },
  { n: 3, name: 'namespace', type: 'string' },
  { n: 5, name: 'uid', type: 'string', skip: true },
  { n: 6, name: 'resourceVersion', type: 'string' },
  { n: 7, name: 'generation', type: 'int64', skip: true },
  { n: 8, name: 'creationTimestamp', type: 'time', skip: true },
  { n: 11, name: 'labels', type: 'map' },
  { n: 12, name: 'annotations', type: 'map' },
]);

/** runtime.TypeMeta, in the envelope. */
export const TYPE_META_FIELDS = { apiVersion: 1, kind: 2 } as const;

export const LIST_META = msg('ListMeta', [
  { n: 2, name: 'resourceVersion', type: 'string' },
  { n: 3, name: 'continue', type: 'string' },
  { n: 4, name: 'remainingItemCount', type: 'int64', skip: true },
]);

const OBJECT_REFERENCE = msg('ObjectReference', [
  { n: 1, name: 'kind', type: 'string' },
  { n: 2, name: 'namespace', type: 'string' },
  { n: 3, name: 'name', type: 'string' },
  { n: 4, name: 'uid', type: 'string' },
  { n: 5, name: 'apiVersion', type: 'string' },
  { n: 6, name: 'resourceVersion', type: 'string' },
  { n: 7, name: 'fieldPath', type: 'string' },
]);

const NAMED = (name: string) => msg(name, [{ n: 1, name: 'name', type: 'string' }]);

export const ENDPOINT_CONDITIONS = msg('EndpointConditions', [
  { n: 1, name: 'ready', type: 'bool' },
  { n: 2, name: 'serving', type: 'bool' },
  { n: 3, name: 'terminating', type: 'bool' },
]);

/** forZones and forNodes: lists of {name = 1}. */
export const ENDPOINT_HINTS = msg('EndpointHints', [
  { n: 1, name: 'forZones', type: NAMED('ForZone'), repeated: true },
  { n: 2, name: 'forNodes', type: NAMED('ForNode'), repeated: true },
]);

export const ENDPOINT_PORT = msg('EndpointPort', [
  { n: 1, name: 'name', type: 'string' },
  { n: 2, name: 'protocol', type: 'string' },
  { n: 3, name: 'port', type: 'int32' },
  { n: 4, name: 'appProtocol', type: 'string' },
]);

export const ENDPOINT = msg('Endpoint', [
  { n: 1, name: 'addresses', type: 'string', repeated: true },
  { n: 2, name: 'conditions', type: ENDPOINT_CONDITIONS },
  { n: 3, name: 'hostname', type: 'string' },
  { n: 4, name: 'targetRef', type: OBJECT_REFERENCE, skip: true },
  { n: 5, name: 'deprecatedTopology', type: 'map', skip: true },
  { n: 6, name: 'nodeName', type: 'string' },
  { n: 7, name: 'zone', type: 'string' },
  { n: 8, name: 'hints', type: ENDPOINT_HINTS },
]);

export const ENDPOINT_SLICE = msg('EndpointSlice', [
  { n: 1, name: 'metadata', type: OBJECT_META },
  { n: 2, name: 'endpoints', type: ENDPOINT, repeated: true },
  { n: 3, name: 'ports', type: ENDPOINT_PORT, repeated: true },
  { n: 4, name: 'addressType', type: 'string' },
]);

/** A List's fields: metadata (ListMeta) 1, items 2. */
export const LIST_FIELDS = { metadata: 1, items: 2 } as const;

/** runtime.Unknown, the envelope: typeMeta 1, raw 2, contentEncoding 3, contentType 4. */
export const UNKNOWN_FIELDS = { typeMeta: 1, raw: 2, contentEncoding: 3, contentType: 4 } as const;

/** The kinds whose lists the agent asks for in protobuf, and the double answers in it. */
export const PROTOBUF_LISTS: Readonly<Record<string, Message>> = { EndpointSlice: ENDPOINT_SLICE };
