// What every source of Kubernetes objects hands to the pipeline: the raw objects it holds
// now (plain JSON, as YAML or the API server gives them), each tagged with where it came
// from so a validation error can name the file or the API. Sources only collect; the model
// validates, so the manifest directory and the API server behave exactly alike.

export interface SourcedObject {
  /** The object as plain JSON (apiVersion, kind, metadata, spec, ...). */
  object: Record<string, unknown>;
  /** Where it came from: a file path, or e.g. "apiserver". */
  origin: string;
}

export interface SourceError {
  origin: string;
  message: string;
}

export interface Snapshot {
  services: SourcedObject[];
  endpointSlices: SourcedObject[];
  nodes: SourcedObject[];
  /** Problems below the object level (a file that is not YAML, an unknown kind). */
  errors: SourceError[];
}

/** One object that changed: its kind and "namespace/name" ("/name" for cluster-scoped Nodes). */
export interface ObjectChange {
  kind: 'services' | 'endpointSlices' | 'nodes';
  key: string;
}

export interface Source {
  readonly name: string;
  /** Starts watching. Resolves once the initial state is loaded (for informers: synced).
   *  onChange fires after every later change, naming the object when the source can (so the
   *  pipeline recompiles only what it affects); without one, anything may have changed (a relist,
   *  a re-read directory). Coalescing bursts is the pipeline's job. */
  start(onChange: (change?: ObjectChange) => void): Promise<void>;
  /** The objects held right now. */
  snapshot(): Snapshot;
  /** One object as held now (undefined: gone), for sources that name their changes; with the
   *  origin a validation error should name. */
  get?(change: ObjectChange): SourcedObject | undefined;
  stop(): Promise<void>;
}
