// The browser helpers' choice of lavapipe driver: the system's ICD file, or the one that
// RESNET_STREAM_LAVAPIPE_ICD names (a newer Mesa unpacked beside the system's; bench/README.md).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { chromiumConfig, lavapipeIcd } from './helpers/browser';

describe('the lavapipe ICD file of the Chromium runs', () => {
  const saved = process.env.RESNET_STREAM_LAVAPIPE_ICD;
  afterEach(() => {
    if (saved === undefined) delete process.env.RESNET_STREAM_LAVAPIPE_ICD;
    else process.env.RESNET_STREAM_LAVAPIPE_ICD = saved;
  });

  it('is the one RESNET_STREAM_LAVAPIPE_ICD names, given to the loader, and none where that file is missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'resnet-stream-icd-'));
    try {
      const icd = join(dir, 'lvp.json');
      writeFileSync(icd, '{"file_format_version": "1.0.1", "ICD": {"library_path": "/nowhere/libvulkan_lvp.so", "api_version": "1.4.0"}}');
      process.env.RESNET_STREAM_LAVAPIPE_ICD = icd;
      expect(lavapipeIcd()).toBe(icd);
      expect(chromiumConfig('lavapipe').env).toEqual({ VK_ICD_FILENAMES: icd, VK_DRIVER_FILES: icd });
      process.env.RESNET_STREAM_LAVAPIPE_ICD = join(dir, 'missing.json');
      expect(lavapipeIcd()).toBeNull();
      expect(() => chromiumConfig('lavapipe')).toThrow(/lavapipe not found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is the system\'s otherwise', () => {
    delete process.env.RESNET_STREAM_LAVAPIPE_ICD;
    const found = lavapipeIcd();
    if (found !== null) expect(found).toMatch(/^\/usr\/share\/vulkan\/icd\.d\/lvp_icd(\.[a-z0-9_]+)?\.json$/);
  });
});
