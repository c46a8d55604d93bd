/** The exact `anaf-token install` command for the browser this extension runs in. */

type HostBrowser = 'chrome' | 'chromium' | 'edge' | 'brave';

interface UaBrand {
  brand: string;
}
type NavigatorWithBrands = Navigator & { userAgentData?: { brands: UaBrand[] } };

export function hostBrowser(nav: Navigator = navigator): HostBrowser {
  const brands = ((nav as NavigatorWithBrands).userAgentData?.brands ?? []).map((b) => b.brand);
  if (brands.includes('Microsoft Edge')) return 'edge';
  if (brands.includes('Brave')) return 'brave';
  if (brands.includes('Google Chrome')) return 'chrome';
  if (brands.includes('Chromium')) return 'chromium';
  return 'chrome';
}

export function installCommand(nav?: Navigator): string {
  return `anaf-token install --browser ${hostBrowser(nav)}`;
}
