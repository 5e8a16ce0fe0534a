/**
 * `$bucket` as mongod defines it: documents grouped by the boundary interval their groupBy value falls in
 * (lower bound inclusive), only non-empty buckets output, sorted by _id, `{ _id, ...output }`; a value
 * outside the boundaries without `default` fails with 40066. (mingo's version counts dates into the wrong
 * bucket and emits empty ones.) Accumulators and the groupBy expression are still evaluated by mingo.
 */
import { Aggregator, type AggregatorOptions } from '../mingo';
import { compareValues, type Doc } from '../compare';
import { CommandError } from '../errors';

type Options = AggregatorOptions;

const KEY = '__vigil_bucket_key';

function checkBoundaries(spec: Doc): unknown[] {
  const bounds = spec.boundaries;
  if (!Array.isArray(bounds) || bounds.length < 2) {
    throw new CommandError(40192, 'Location40192', "The $bucket 'boundaries' field must be an array with at least 2 values");
  }
  for (let i = 1; i < bounds.length; i++) {
    if (compareValues(bounds[i - 1], bounds[i]) >= 0) {
      throw new CommandError(40194, 'Location40194', "The 'boundaries' option to $bucket must be sorted in ascending order");
    }
  }
  return bounds as unknown[];
}

/**
 * `$bucket` the way mongod documents it, as `$group` on a `$switch` over the boundaries plus `$sort`, for
 * pipelines mingo runs itself ($facet, $lookup): the comparisons are the BSON-aware ones of mingo.ts, so a
 * boundary value goes to the bucket it opens.
 */
export function bucketAsGroup(spec: Doc): Doc[] {
  const bounds = checkBoundaries(spec);
  const branches = bounds.slice(0, -1).map((lo, i) => ({
    case: { $and: [{ $gte: [spec.groupBy, lo] }, { $lt: [spec.groupBy, bounds[i + 1]] }] },
    then: lo,
  }));
  const id = spec.default === undefined ? { $switch: { branches } } : { $switch: { branches, default: spec.default } };
  const output = (spec.output as Doc | undefined) ?? { count: { $sum: 1 } };
  return [{ $group: { _id: id, ...output } }, { $sort: { _id: 1 } }];
}

export function bucketStage(input: Doc[], spec: Doc, options: Options): Doc[] {
  const bounds = checkBoundaries(spec);
  const keyed = new Aggregator([{ $addFields: { [KEY]: spec.groupBy } }], options).run<Doc>(input);
  const groups = new Map<number, Doc[]>();
  const DEFAULT = -1;
  for (const d of keyed) {
    const k = d[KEY];
    delete d[KEY];
    let lo = 0;
    let hi = bounds.length - 1;
    let slot = DEFAULT;
    if (k !== undefined && compareValues(k, bounds[0]) >= 0 && compareValues(k, bounds[hi]) < 0) {
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (compareValues(k, bounds[mid]) >= 0) lo = mid;
        else hi = mid;
      }
      slot = lo;
    } else if (spec.default === undefined) {
      throw new CommandError(40066, 'Location40066', '$switch could not find a matching branch for an input, and no default was specified.');
    }
    const g = groups.get(slot);
    if (g) g.push(d);
    else groups.set(slot, [d]);
  }
  const output = (spec.output as Doc | undefined) ?? { count: { $sum: 1 } };
  const out: Doc[] = [];
  for (const [slot, docs] of groups) {
    const [acc] = new Aggregator([{ $group: { _id: null, ...output } }], options).run<Doc>(docs);
    const { _id: _ignored, ...fields } = acc ?? {};
    out.push({ _id: slot === DEFAULT ? spec.default : bounds[slot], ...fields });
  }
  return out.sort((a, b) => compareValues(a._id, b._id));
}

/** Runs a pipeline through mingo, handling top-level `$bucket` stages with bucketStage. */
export function runPipeline(input: Doc[], stages: Doc[], options: Options): Doc[] {
  let docs = input;
  let segment: Doc[] = [];
  const flush = (): void => {
    if (segment.length) docs = new Aggregator(segment, options).run<Doc>(docs);
    segment = [];
  };
  for (const stage of stages) {
    if ('$bucket' in stage && typeof stage.$bucket === 'object' && stage.$bucket !== null) {
      flush();
      docs = bucketStage(docs, stage.$bucket as Doc, options);
    } else {
      segment.push(stage);
    }
  }
  flush();
  return docs;
}
