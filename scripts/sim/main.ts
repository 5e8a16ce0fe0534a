/**
 * Camera simulator CLI (`npm run sim -- [options]`).
 *
 *   --count N            N synthetic cameras on 127.16.1.1 … (default 100), spread over --regions R
 *   --from FILE          cameras from a registry export (JSON or CSV); non-loopback hosts are remapped
 *   --demo               the demo district of server/src/demo/district.ts (5,400 points on 127.20.x.y, whose
 *                        registry entries name DEMO_SIM_RTSP_PORT / DEMO_SIM_HTTP_PORT, as this CLI's defaults do)
 *   --rtsp-port P        wildcard RTSP listener (default DEMO_SIM_RTSP_PORT, else 8554; 554 needs root; 0 = free port)
 *   --http-port P        wildcard HTTP listener for ONVIF + /ISAPI (default DEMO_SIM_HTTP_PORT, else 8080)
 *   --control-port P     control API on 127.0.0.1 (default 9554)
 *   --scenario FILE      run a scenario (JSON, see faults.ts scenarioSchema) after start
 *   --credentials U:P    every camera wants Digest credentials for DESCRIBE and /ISAPI
 *   --socket raw|net     RTSP-port listener: raw libuv handles for the hot paths (default, cheapest per
 *                        connection) or plain `net` (default when VIGIL_SIM_SOCKET=net)
 *   --bind wildcard|cameras  one listener per port on 0.0.0.0 (default: cheapest for 300,000 cameras), or one
 *                        per camera and port on the camera's own 127.x address (nothing beyond loopback; two
 *                        descriptors per camera, as the console's in-process demo simulator does)
 *
 * Control API: GET /health, GET /stats, GET /cameras, GET|PUT /cameras/:addr/fault,
 * PUT /regions/:id/fault, POST /faults {select, fault}, POST /scenario {name, steps}.
 */
import fs from 'node:fs';
import { configSchema } from '../../server/src/config';
import { scenarioSchema } from '../../server/src/demo/sim/faults';
import { camerasFromExport, demoDistrictCameras, syntheticCameras } from '../../server/src/demo/sim/mapping';
import { startSimulator, type SimCameraSpec, type SimSocketKind } from '../../server/src/demo/sim/simulator';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function bindArg(v: string | undefined): 'wildcard' | 'cameras' | undefined {
  if (v === undefined || v === 'wildcard' || v === 'cameras') return v;
  throw new Error(`--bind must be wildcard or cameras, not ${v}`);
}

function socketArg(v: string | undefined): SimSocketKind | undefined {
  if (v === undefined || v === 'raw' || v === 'net') return v;
  throw new Error(`--socket must be raw or net, not ${v}`);
}

/** The same variables and defaults as the server's config, so `npm start -- --demo` and this CLI agree on the ports. */
function configuredPorts(): { rtspPort: number; httpPort: number } {
  const env = (name: 'DEMO_SIM_RTSP_PORT' | 'DEMO_SIM_HTTP_PORT'): string | undefined => process.env[name] || undefined;
  const cfg = configSchema
    .pick({ DEMO_SIM_RTSP_PORT: true, DEMO_SIM_HTTP_PORT: true })
    .parse({ DEMO_SIM_RTSP_PORT: env('DEMO_SIM_RTSP_PORT'), DEMO_SIM_HTTP_PORT: env('DEMO_SIM_HTTP_PORT') });
  return { rtspPort: cfg.DEMO_SIM_RTSP_PORT, httpPort: cfg.DEMO_SIM_HTTP_PORT };
}

async function main(): Promise<void> {
  let cameras: SimCameraSpec[];
  const from = arg('from');
  if (from) {
    const r = camerasFromExport(from);
    cameras = r.cameras;
    if (r.remapped.length) {
      const out = `${from}.sim-map.json`;
      fs.writeFileSync(out, JSON.stringify(r.remapped, null, 1));
      process.stderr.write(`sim: ${r.remapped.length} points had non-loopback hosts; their simulator addresses are in ${out}\n`);
    }
  } else if (process.argv.includes('--demo')) {
    cameras = demoDistrictCameras();
  } else {
    cameras = syntheticCameras(Number(arg('count') ?? 100), Number(arg('regions') ?? 10));
  }
  const creds = arg('credentials');
  if (creds) {
    const [username = '', password = ''] = creds.split(':');
    for (const c of cameras) c.credentials = { username, password };
  }
  const ports = configuredPorts();
  const sim = await startSimulator({
    cameras,
    rtspPort: Number(arg('rtsp-port') ?? ports.rtspPort),
    httpPort: Number(arg('http-port') ?? ports.httpPort),
    controlPort: Number(arg('control-port') ?? 9554),
    socket: socketArg(arg('socket')),
    bind: bindArg(arg('bind')),
  });
  process.stdout.write(
    JSON.stringify({ cameras: cameras.length, first: cameras[0]?.addr, rtspPort: sim.rtspPort, httpPort: sim.httpPort, socket: sim.socket, control: sim.controlUrl }) + '\n',
  );
  const scenario = arg('scenario');
  if (scenario) {
    const { affected } = sim.runScenario(scenarioSchema.parse(JSON.parse(fs.readFileSync(scenario, 'utf8'))));
    process.stderr.write(`sim: scenario steps affect ${affected.map((a) => a.length).join(', ')} cameras\n`);
  }
  const stop = (): void => {
    sim.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`sim: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
