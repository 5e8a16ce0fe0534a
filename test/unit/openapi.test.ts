import { expect } from 'chai';
import { z } from 'zod';
import { OpenApiRegistry } from '../../server/src/lib/openapi';

interface Node {
  name: string;
  children: Node[];
}
interface NodeInput {
  name: string;
  children?: NodeInput[];
}

function refs(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(refs);
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => (k === '$ref' && typeof v === 'string' ? [v] : refs(v)));
}

describe('openapi: recursive schemas become components', () => {
  it('when a recursive schema has no id, then it is still a component (named by content) and no $defs remain', () => {
    const node: z.ZodType<Node> = z.lazy(() => z.object({ name: z.string(), children: z.array(node) }));
    const reg = new OpenApiRegistry();
    reg.add({ method: 'get', path: '/a', summary: 'a', tags: ['t'], permission: null, responses: { 200: { description: 'ok', schema: z.object({ root: node }) } } });
    reg.add({ method: 'get', path: '/b', summary: 'b', tags: ['t'], permission: null, responses: { 200: { description: 'ok', schema: z.array(node) } } });
    const doc = reg.document();
    const text = JSON.stringify(doc);
    expect(text).to.not.include('$defs');
    const names = Object.keys((doc.components as { schemas: Record<string, unknown> }).schemas).filter((n) => n !== 'Error');
    expect(names).to.have.length(1);
    expect(names[0]).to.match(/^Schema[0-9a-f]{8}$/);
    for (const r of refs(doc)) expect(r).to.match(/^#\/components\//);
  });

  it('when one id reads differently as input and as output, then each gets its own component and its refs point at itself', () => {
    const node: z.ZodType<Node, NodeInput> = z
      .lazy(() => z.object({ name: z.string(), children: z.array(node).default([]) }))
      .meta({ id: 'UnitTreeNode' });
    const reg = new OpenApiRegistry();
    reg.add({ method: 'post', path: '/n', summary: 'n', tags: ['t'], permission: null, body: node, responses: { 200: { description: 'ok', schema: node } } });
    const doc = reg.document() as { components: { schemas: Record<string, unknown> } };
    const s = doc.components.schemas;
    expect(Object.keys(s)).to.include.members(['UnitTreeNode', 'UnitTreeNode2']);
    expect(JSON.stringify(s.UnitTreeNode)).to.not.equal(JSON.stringify(s.UnitTreeNode2));
    expect(refs(s.UnitTreeNode)).to.deep.equal(['#/components/schemas/UnitTreeNode']);
    expect(refs(s.UnitTreeNode2)).to.deep.equal(['#/components/schemas/UnitTreeNode2']);
  });
});
