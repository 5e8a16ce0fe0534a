import { Schema, type Connection, type Model, type Types } from 'mongoose';
import type { Boundary } from '../contracts/regions';
import { regionTiers } from '../contracts/vocabulary';

export interface RegionDoc {
  _id: Types.ObjectId;
  name: string;
  tier: (typeof regionTiers)[number];
  parentId: Types.ObjectId | null;
  code: string | null;
  households: number | null;
  /** Validated by boundarySchema on every write. */
  boundary: Boundary | null;
  note: string;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

const regionSchema = new Schema<RegionDoc>(
  {
    name: { type: String, required: true },
    tier: { type: String, required: true, enum: regionTiers },
    parentId: { type: Schema.Types.ObjectId, default: null },
    code: { type: String, default: null },
    households: { type: Number, default: null },
    boundary: { type: Schema.Types.Mixed, default: null },
    note: { type: String, default: '' },
    version: { type: Number, required: true, default: 1 },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'regions', versionKey: false, minimize: false },
);
// a division code names one node; sibling names are unique so a path of names identifies a node (imports)
regionSchema.index({ code: 1 }, { unique: true, partialFilterExpression: { code: { $type: 'string' } } });
regionSchema.index({ parentId: 1, name: 1 }, { unique: true });
regionSchema.index({ tier: 1 });

export function regionModel(conn: Connection): Model<RegionDoc> {
  return (conn.models.Region as Model<RegionDoc> | undefined) ?? conn.model<RegionDoc>('Region', regionSchema);
}
