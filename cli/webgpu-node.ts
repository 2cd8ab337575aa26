/**
 * WebGPU in Node: the optional `webgpu` package (Dawn's Node binding, its
 * prebuilt binaries inside the package) gives tfjs-backend-webgpu the
 * `navigator.gpu` it looks for. Dawn reaches the GPU through the system's
 * Vulkan loader (Debian: libvulkan1); on a machine without a GPU, SwiftShader's
 * Vulkan driver, which Debian's chromium ships, stands in for one.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export interface NodeGpu {
  /** e.g. "SwiftShader Device (Subzero) — Google" or the real GPU's name. */
  adapter: string;
  /** A software rasteriser: its timings mean correctness, not speed. */
  software: boolean;
}

let installed: NodeGpu | undefined;

export const WEBGPU_HOWTO = 'install the optional Dawn binding with `npm install webgpu` (and the system Vulkan loader, `apt-get install libvulkan1`); '
  + `without a GPU, point Vulkan at SwiftShader: VK_ICD_FILENAMES=${SWIFTSHADER_ICD} (from Debian's chromium package)`;

/**
 * Install `navigator.gpu` and the WebGPU globals, and find an adapter.
 * Resolves to the adapter, or throws with what is missing and how to get it.
 */
export async function installNodeWebGpu(): Promise<NodeGpu> {
  if (installed) return installed;
  // XDG_RUNTIME_DIR unset makes some Vulkan drivers warn on every start.
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  let mod: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  try {
    mod = await import('webgpu' as string) as typeof mod;
  } catch (e) {
    throw new Error(`WebGPU is not available in Node here (${(e as Error).message.split('\n')[0]}): ${WEBGPU_HOWTO}`);
  }
  let gpu = mod.create([]);
  let adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter && !process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && existsSync(SWIFTSHADER_ICD)) {
    // No GPU the system's Vulkan drivers offer (or only ones Dawn refuses, like lavapipe): use SwiftShader's.
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    gpu = mod.create([]);
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  }
  if (!adapter) {
    const icd = process.env.VK_ICD_FILENAMES ?? process.env.VK_DRIVER_FILES;
    // The binding is there: what is missing is a Vulkan loader or driver Dawn accepts.
    const tried = icd ? `the Vulkan driver list ${icd} gave none` : 'the system Vulkan drivers gave none';
    throw new Error(`WebGPU found no adapter: ${tried}. Dawn needs the Vulkan loader (apt-get install libvulkan1) and a GPU driver; `
      + `without a GPU, SwiftShader's: VK_ICD_FILENAMES=${SWIFTSHADER_ICD} (Debian's chromium package)`);
  }
  Object.assign(globalThis, mod.globals);
  // tfjs-backend-webgpu asks navigator.gpu; Node 21+ has a navigator of its own without one.
  const nav = (globalThis as unknown as { navigator?: object }).navigator;
  if (nav) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
  const info = adapter.info;
  const name = [info?.description || info?.device, info?.vendor].filter(Boolean).join(' — ') || 'unknown adapter';
  installed = { adapter: name, software: /swiftshader|llvmpipe|lavapipe|software/i.test(`${name} ${info?.architecture ?? ''}`) };
  return installed;
}

/** Whether the binding is installed at all (without starting a device). */
export function hasWebGpuBinding(): boolean {
  try {
    createRequire(import.meta.url).resolve('webgpu');
    return true;
  } catch {
    return false;
  }
}
