import { Types, type Connection, type Model } from 'mongoose';
import type { AuditService } from '../audit/service';
import type { AuditActor } from '../audit/schema';
import { actorOf, type Principal } from '../contracts/access';
import { canSeeRegion, regionInScope, type RegionIndex } from '../auth/scope';
import { AppError, type FieldIssue } from '../lib/errors';
import type { Logger } from '../lib/logger';
import { ChangeFeed } from '../lib/change-feed';
import type { RegionChange } from './events';
import { countedTree, type PointBucket } from './counted-tree';
import { RegionTree, type RegionNode } from './tree';
import { regionTiers, type RegionTier } from '../contracts/vocabulary';
import { regionModel, type RegionDoc } from './model';
import type { Region, RegionInput, RegionPatch, RegionTreeNode, TierCounts } from '../contracts/regions';
import { codePatterns, parentTierOf, type RegionListQuery } from './schema';
import { isDuplicateKey } from '../lib/store-errors';

/** What the region service needs from the camera registry (implemented by CameraService; set after construction). */
export interface RegionPoints {
  /** Points registered at, or in a grid of, any of these regions. */
  countIn(regionIds: string[]): Promise<number>;
  /** Of those, how many have a gbCode whose center digits do not start with `prefix`. */
  countCodeMismatch(regionIds: string[], prefix: string): Promise<number>;
  /** Moves every point of these regions to `target` (bumps versions, emits, audits). Returns how many. */
  rehome(regionIds: string[], target: { regionId: string; gridId: string | null }, actor: AuditActor): Promise<number>;
  /** Re-announces the points of these regions (their place in the tree changed; their documents did not). */
  announce(regionIds: string[]): Promise<void>;
  buckets(principal: Principal): Promise<PointBucket[]>;
}

function nodeOf(d: RegionDoc): RegionNode {
  return { id: d._id.toHexString(), name: d.name, tier: d.tier, parentId: d.parentId ? d.parentId.toHexString() : null, code: d.code ?? null, households: d.households ?? null };
}

function toRegion(d: RegionDoc, path: string[]): Region {
  return {
    id: d._id.toHexString(),
    name: d.name,
    tier: d.tier,
    parentId: d.parentId ? d.parentId.toHexString() : null,
    code: d.code ?? null,
    households: d.households ?? null,
    boundary: d.boundary ?? null,
    note: d.note ?? '',
    path,
    version: d.version,
    createdAt: d.createdAt.toISOString(),
    updatedAt: d.updatedAt.toISOString(),
  };
}

/**
 * The district → street → community → grid tree. The whole tree is cached in memory (a district has
 * ~600 nodes, a province some 10^5) and rebuilt after every change, so scope checks (`ancestorsOrSelf`,
 * `subtree`) are synchronous map lookups. Several app instances on one database would each need to
 * reload on change; that is the planned change-stream/poll hook (`reload()`), not built yet.
 */
export class RegionService implements RegionIndex {
  private readonly model: Model<RegionDoc>;
  private docs = new Map<string, RegionDoc>();
  private snapshot: RegionTree = RegionTree.empty;
  private points: RegionPoints | undefined;
  private readonly feed: ChangeFeed<RegionChange>;
  private audit: AuditService | undefined;

  private constructor(
    conn: Connection,
    private readonly logger: Logger,
  ) {
    this.model = regionModel(conn);
    this.feed = new ChangeFeed((err) => this.logger.error('region change listener failed', { err }));
  }

  static async open(conn: Connection, deps: { logger: Logger }): Promise<RegionService> {
    const s = new RegionService(conn, deps.logger);
    await s.model.init();
    await s.reload();
    return s;
  }

  /** Breaks the regions ↔ cameras cycle: the camera service registers itself once it exists. */
  attachPoints(points: RegionPoints): void {
    this.points = points;
  }

  /** Auditing is wired after construction because the audit service scopes entries with this tree. */
  attachAudit(audit: AuditService): void {
    this.audit = audit;
  }

  onChange(listener: (e: RegionChange) => void): () => void {
    return this.feed.subscribe(listener);
  }

  async reload(): Promise<void> {
    const all = await this.model.collection.find<RegionDoc>({}).toArray();
    this.docs = new Map(all.map((d) => [d._id.toHexString(), d]));
    this.snapshot = new RegionTree(all.map(nodeOf));
  }

  /** The current tree (immutable; a registry change replaces it). */
  current(): RegionTree {
    return this.snapshot;
  }

  // ---- RegionIndex and the lookups validation needs (synchronous, from the current tree) ----

  get(id: string): RegionNode | undefined {
    return this.snapshot.get(id);
  }

  ancestorsOrSelf(regionId: string): string[] {
    return this.snapshot.ancestorsOrSelf(regionId);
  }

  subtree(regionId: string): string[] {
    return this.snapshot.subtree(regionId);
  }

  childIds(regionId: string | null): string[] {
    return this.snapshot.children(regionId);
  }

  /** Every node, for importers, the live index and maps. Cheap: served from memory (boundaries on request). */
  listAll(opts: { boundary?: boolean } = {}): Array<RegionNode & { boundary?: unknown }> {
    return this.snapshot.all().map((node) => (opts.boundary ? { ...node, boundary: this.docs.get(node.id)?.boundary ?? null } : node));
  }

  /**
   * True for a node whose note is exactly `marker` (the demo generator's note): a word in a note an
   * operator wrote does not make a real district the demo.
   */
  hasNote(id: string, marker: string): boolean {
    return this.docs.get(id)?.note === marker;
  }

  size(): number {
    return this.docs.size;
  }

  /** The nearest division code on the node's path up (a node without a code inherits its parent's). */
  effectiveCode(regionId: string): string | null {
    return this.snapshot.effectiveCode(regionId);
  }

  // ---- reads, scoped ----

  private pathOf(id: string): string[] {
    return this.snapshot.pathOf(id);
  }

  private visibleDoc(principal: Principal, id: string): RegionDoc {
    const d = Types.ObjectId.isValid(id) ? this.docs.get(id) : undefined;
    if (!d || !canSeeRegion(principal, this, id)) throw AppError.notFound('region');
    return d;
  }

  getOne(principal: Principal, id: string): Region {
    return toRegion(this.visibleDoc(principal, id), this.pathOf(id));
  }

  /** Regions the caller may see: their path up to the root plus their whole subtree. */
  visibleIds(principal: Principal): string[] {
    if (principal.scopeRegionId === null) return [...this.docs.keys()];
    const scope = principal.scopeRegionId;
    return [...new Set([...this.ancestorsOrSelf(scope), ...this.subtree(scope)])];
  }

  list(principal: Principal, q: RegionListQuery): Region[] {
    for (const field of ['within', 'parentId'] as const) {
      const ref = q[field];
      if (ref && (!this.docs.has(ref) || !canSeeRegion(principal, this, ref))) throw refNotFound(field, 'region');
    }
    let ids = this.visibleIds(principal);
    if (q.within) {
      const within = new Set(this.subtree(q.within));
      ids = ids.filter((id) => within.has(id));
    }
    const needle = q.q?.toLowerCase();
    const out: Region[] = [];
    for (const id of ids) {
      const d = this.docs.get(id) as RegionDoc;
      if (q.tier && d.tier !== q.tier) continue;
      if (q.parentId && d.parentId?.toHexString() !== q.parentId) continue;
      if (needle && !d.name.toLowerCase().includes(needle) && !(d.code ?? '').startsWith(needle)) continue;
      const r = toRegion(d, this.pathOf(id));
      if (!q.boundary) r.boundary = null;
      out.push(r);
    }
    const tierRank = (t: RegionTier): number => regionTiers.indexOf(t);
    return out.sort((a, b) => tierRank(a.tier) - tierRank(b.tier) || (a.code ?? '').localeCompare(b.code ?? '') || a.name.localeCompare(b.name, 'zh'));
  }

  /**
   * The visible tree with point counts per node and per tier (counts include only points the caller may
   * see; see counted-tree.ts).
   */
  async tree(principal: Principal, opts: { rootId?: string; depth: number }): Promise<{ roots: RegionTreeNode[]; counts: TierCounts }> {
    if (opts.rootId) this.visibleDoc(principal, opts.rootId);
    const buckets = this.points ? await this.points.buckets(principal) : [];
    return countedTree(this.snapshot, new Set(this.visibleIds(principal)), buckets, opts);
  }

  // ---- writes ----

  private checkCode(tier: RegionTier, code: string | null, parentId: string | null, field = 'code'): FieldIssue[] {
    if (code === null) return [];
    const pattern = codePatterns[tier];
    if (!pattern.re.test(code)) return [{ field, message: pattern.message }];
    const parentCode = parentId ? this.effectiveCode(parentId) : null;
    if (parentCode) {
      const prefix = parentCode.length === 8 ? parentCode.slice(0, 6) : parentCode;
      if (!code.startsWith(prefix)) return [{ field, message: `must start with the parent's division code ${prefix}` }];
    }
    return [];
  }

  private requireParent(principal: Principal, tier: RegionTier, parentId: string | null): void {
    const wanted = parentTierOf[tier];
    if (wanted === null) {
      if (parentId !== null) throw new AppError('validation_failed', 'a district is a root: parentId must be null', [{ field: 'parentId', message: 'must be null for a district' }]);
      if (principal.scopeRegionId !== null) throw new AppError('forbidden', 'only a global administrator may create a district');
      return;
    }
    if (parentId === null) throw new AppError('validation_failed', `a ${tier} needs a parent ${wanted}`, [{ field: 'parentId', message: `required: the ${wanted} this ${tier} belongs to` }]);
    const parent = this.docs.get(parentId);
    if (!parent || !canSeeRegion(principal, this, parentId)) {
      throw refNotFound('parentId', 'region');
    }
    if (parent.tier !== wanted) {
      throw new AppError('validation_failed', `a ${tier} must sit under a ${wanted}, not a ${parent.tier}`, [{ field: 'parentId', message: `must be a ${wanted} (is a ${parent.tier})` }]);
    }
    if (!regionInScope(principal, this, parentId)) throw new AppError('forbidden', 'the parent region lies outside your scope');
  }

  private conflictFrom(err: unknown, input: { code: string | null; name: string }): AppError | null {
    if (!isDuplicateKey(err)) return null;
    if (err.keyPattern && 'code' in err.keyPattern) {
      return new AppError('conflict', `a region with code ${input.code} already exists`, [{ field: 'code', message: `code ${input.code} is already used` }]);
    }
    return new AppError('conflict', `the parent already has a region named ${input.name}`, [{ field: 'name', message: `name ${input.name} is already used under this parent` }]);
  }

  async create(principal: Principal, input: RegionInput): Promise<Region> {
    this.requireParent(principal, input.tier, input.parentId);
    const issues = this.checkCode(input.tier, input.code, input.parentId);
    if (input.households !== null && (input.tier === 'district' || input.tier === 'street')) {
      issues.push({ field: 'households', message: 'households are kept for communities and grids' });
    }
    if (issues.length) throw new AppError('validation_failed', `invalid region: ${issues[0].field}: ${issues[0].message}`, issues);
    const now = new Date();
    const doc: RegionDoc = {
      _id: new Types.ObjectId(),
      name: input.name,
      tier: input.tier,
      parentId: input.parentId ? new Types.ObjectId(input.parentId) : null,
      code: input.code,
      households: input.households,
      boundary: input.boundary,
      note: input.note,
      version: 1,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await this.model.collection.insertOne(doc);
    } catch (err) {
      throw this.conflictFrom(err, input) ?? err;
    }
    await this.reload();
    const region = toRegion(doc, this.pathOf(doc._id.toHexString()));
    await this.audit?.record({ actor: actorOf(principal), action: 'create', entity: 'region', entityId: region.id, before: null, after: region, regionIds: [region.id] });
    this.feed.emit({ kind: 'upsert', id: region.id });
    return region;
  }

  /** Bulk insert for the demo loader: no per-node audit, one reload. Nodes must be in parent-first order. */
  async insertManyTrusted(nodes: Array<RegionInput & { id: string }>): Promise<void> {
    const now = new Date();
    const docs: RegionDoc[] = nodes.map((n) => ({
      _id: new Types.ObjectId(n.id),
      name: n.name,
      tier: n.tier,
      parentId: n.parentId ? new Types.ObjectId(n.parentId) : null,
      code: n.code,
      households: n.households,
      boundary: n.boundary,
      note: n.note,
      version: 1,
      createdAt: now,
      updatedAt: now,
    }));
    for (let i = 0; i < docs.length; i += 1000) await this.model.collection.insertMany(docs.slice(i, i + 1000), { ordered: true });
    await this.reload();
    for (const d of docs) this.feed.emit({ kind: 'upsert', id: d._id.toHexString() });
  }

  /**
   * Takes back what `insertManyTrusted` wrote (the demo loader's rollback when a later write fails): the
   * nodes with these ids, without audit, one reload. Their points must be gone first.
   */
  async removeManyTrusted(ids: string[]): Promise<number> {
    const res = await this.model.collection.deleteMany({ _id: { $in: ids.map((id) => new Types.ObjectId(id)) } });
    await this.reload();
    for (const id of ids) this.feed.emit({ kind: 'delete', id });
    return res.deletedCount;
  }

  private requireWritable(principal: Principal, id: string): RegionDoc {
    const d = this.visibleDoc(principal, id);
    if (!regionInScope(principal, this, id)) throw new AppError('forbidden', 'this region lies outside your write scope');
    return d;
  }

  private resolveTarget(principal: Principal, targetId: string, excluded: Set<string>): { regionId: string; gridId: string | null } {
    const t = this.docs.get(targetId);
    if (!t || !canSeeRegion(principal, this, targetId)) {
      throw refNotFound('movePointsTo', 'region');
    }
    if (excluded.has(targetId)) {
      throw new AppError('validation_failed', 'movePointsTo lies inside the subtree being changed', [{ field: 'movePointsTo', message: 'must lie outside the moved/deleted subtree' }]);
    }
    if (!regionInScope(principal, this, targetId)) throw new AppError('forbidden', 'movePointsTo lies outside your write scope');
    if (t.tier === 'grid') return { regionId: (t.parentId as Types.ObjectId).toHexString(), gridId: targetId };
    return { regionId: targetId, gridId: null };
  }

  private async rehomeChecked(principal: Principal, regionIds: string[], targetId: string): Promise<number> {
    const points = this.requirePoints();
    const target = this.resolveTarget(principal, targetId, new Set(regionIds));
    const code = this.effectiveCode(target.regionId);
    if (code) {
      const prefix = code.length === 6 || code.length === 8 ? code : code.slice(0, 6);
      const bad = await points.countCodeMismatch(regionIds, prefix);
      if (bad > 0) {
        throw new AppError('validation_failed', `${bad} points have GB codes that do not match the target's division code ${code}`, [
          { field: 'movePointsTo', message: `${bad} points' center codes do not start with ${prefix}` },
        ]);
      }
    }
    return points.rehome(regionIds, target, actorOf(principal));
  }

  private requirePoints(): RegionPoints {
    if (!this.points) throw new Error('region service used before the camera registry was attached');
    return this.points;
  }

  async update(principal: Principal, id: string, patch: RegionPatch, ifMatch?: number): Promise<Region> {
    const cur = this.requireWritable(principal, id);
    const expected = ifMatch ?? patch.version;
    if (expected !== undefined && expected !== cur.version) {
      throw new AppError('conflict', `region was changed by someone else (current version ${cur.version})`, [{ field: 'version', message: `stale: current version is ${cur.version}` }]);
    }
    const before = toRegion(cur, this.pathOf(id));
    const curParent = cur.parentId ? cur.parentId.toHexString() : null;
    const moving = patch.parentId !== undefined && patch.parentId !== curParent;
    const newParent = moving ? (patch.parentId as string | null) : curParent;
    const newCode = patch.code !== undefined ? patch.code : (cur.code ?? null);
    const sub = this.subtree(id);

    if (moving) {
      if (newParent !== null && sub.includes(newParent)) {
        throw new AppError('validation_failed', 'a region cannot move under its own subtree', [{ field: 'parentId', message: 'lies inside this region' }]);
      }
      this.requireParent(principal, cur.tier, newParent);
    }
    const issues = this.checkCode(cur.tier, newCode, newParent);
    if (patch.code !== undefined && newCode) {
      // children keep their codes, so they must still extend this one
      const prefix = newCode.length === 8 ? newCode.slice(0, 6) : newCode;
      const clash = this.childIds(id).map((c) => this.docs.get(c)).find((c) => c?.code && !c.code.startsWith(prefix));
      if (clash) issues.push({ field: 'code', message: `child region ${clash.name} has code ${clash.code}, which does not start with ${prefix}` });
    }
    if (patch.households != null && (cur.tier === 'district' || cur.tier === 'street')) {
      issues.push({ field: 'households', message: 'households are kept for communities and grids' });
    }
    if (issues.length) throw new AppError('validation_failed', `invalid region: ${issues[0].field}: ${issues[0].message}`, issues);

    const points = this.requirePoints();
    let moved = 0;
    if (moving) {
      const held = await points.countIn(sub);
      if (held > 0 && !patch.withPoints && !patch.movePointsTo) {
        throw new AppError('conflict', `region ${cur.name} holds ${held} points: pass withPoints=true to move them along or movePointsTo=<regionId> to re-home them first`, [
          { field: 'parentId', message: `region holds ${held} points` },
        ]);
      }
      if (held > 0 && patch.movePointsTo) moved = await this.rehomeChecked(principal, sub, patch.movePointsTo);
    }
    // the codes the points will live under must still fit their GB codes
    const oldEffective = this.effectiveCode(id);
    const newEffective = newCode ?? (newParent ? this.effectiveCode(newParent) : null);
    if (newEffective && newEffective !== oldEffective) {
      const prefix = newEffective.length === 6 || newEffective.length === 8 ? newEffective : newEffective.slice(0, 6);
      const bad = await points.countCodeMismatch(sub, prefix);
      if (bad > 0) {
        throw new AppError('validation_failed', `${bad} points in this region have GB codes that do not start with ${prefix}`, [
          { field: patch.code !== undefined ? 'code' : 'parentId', message: `${bad} points' center codes would not match ${newEffective}` },
        ]);
      }
    }

    const set: Partial<RegionDoc> = { updatedAt: new Date() };
    if (patch.name !== undefined) set.name = patch.name;
    if (moving) set.parentId = newParent ? new Types.ObjectId(newParent) : null;
    if (patch.code !== undefined) set.code = patch.code;
    if (patch.households !== undefined) set.households = patch.households;
    if (patch.boundary !== undefined) set.boundary = patch.boundary;
    if (patch.note !== undefined) set.note = patch.note;
    let res;
    try {
      res = await this.model.collection.findOneAndUpdate({ _id: cur._id, version: cur.version }, { $set: set, $inc: { version: 1 } }, { returnDocument: 'after' });
    } catch (err) {
      throw this.conflictFrom(err, { code: newCode, name: patch.name ?? cur.name }) ?? err;
    }
    if (!res) throw new AppError('conflict', 'region was changed by someone else; reload and retry', [{ field: 'version', message: 'stale' }]);
    await this.reload();
    const after = toRegion(res as RegionDoc, this.pathOf(id));
    await this.audit?.record({
      actor: actorOf(principal),
      action: moving ? 'move' : 'update',
      entity: 'region',
      entityId: id,
      before,
      after,
      meta: moved ? { pointsMovedTo: patch.movePointsTo, pointsMoved: moved } : undefined,
      regionIds: [...new Set([id, ...before.path, ...after.path])],
    });
    this.feed.emit({ kind: 'upsert', id });
    if (moving && !moved) await points.announce(sub);
    return after;
  }

  async remove(principal: Principal, id: string, opts: { movePointsTo?: string; cascade: boolean; ifMatch?: number }): Promise<{ deleted: number; pointsMoved: number }> {
    const cur = this.requireWritable(principal, id);
    if (opts.ifMatch !== undefined && opts.ifMatch !== cur.version) {
      throw new AppError('conflict', `region was changed by someone else (current version ${cur.version})`, [{ field: 'version', message: `stale: current version is ${cur.version}` }]);
    }
    const sub = this.subtree(id);
    if (sub.length > 1 && !opts.cascade) {
      throw new AppError('conflict', `region ${cur.name} has ${sub.length - 1} descendant regions: delete them first or pass cascade=true`, [{ field: 'cascade', message: 'region has children' }]);
    }
    const points = this.requirePoints();
    const held = await points.countIn(sub);
    let moved = 0;
    if (held > 0) {
      if (!opts.movePointsTo) {
        throw new AppError('conflict', `region ${cur.name} holds ${held} points: pass movePointsTo=<regionId> to re-home them first`, [{ field: 'movePointsTo', message: `region holds ${held} points` }]);
      }
      moved = await this.rehomeChecked(principal, sub, opts.movePointsTo);
    }
    const befores = sub.map((rid) => toRegion(this.docs.get(rid) as RegionDoc, this.pathOf(rid)));
    await this.model.collection.deleteMany({ _id: { $in: sub.map((s) => new Types.ObjectId(s)) } });
    await this.reload();
    await this.audit?.recordMany(
      befores.map((b) => ({
        actor: actorOf(principal),
        action: 'delete',
        entity: 'region' as const,
        entityId: b.id,
        before: b,
        after: null,
        meta: b.id === id && moved ? { pointsMovedTo: opts.movePointsTo, pointsMoved: moved } : undefined,
        regionIds: [b.id, ...b.path],
      })),
    );
    for (const rid of sub) this.feed.emit({ kind: 'delete', id: rid });
    return { deleted: sub.length, pointsMoved: moved };
  }
}

/**
 * A body or query reference to a region that does not exist or lies outside the caller's scope: 404
 * like a URL id, so the two cases cannot be told apart (scope must not reveal existence).
 */
export function refNotFound(field: string, what: 'region' | 'camera point'): AppError {
  return new AppError('not_found', `${field}: ${what} not found`, [{ field, message: `${what} not found` }]);
}

