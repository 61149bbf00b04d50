// Hydrates the page's islands once the document is parsed (a module script
// runs then); the <link> preloads have fetched the JS and the WASM by now.
// Islands are never nested here, so each is hydrated on its own, in
// document order.
(async (script, wasm) => {
  const module = await import(script);
  await module.default({ module_or_path: wasm });
  module.hydrate();
  for (const island of document.querySelectorAll('leptos-island')) {
    const hydrateIsland = module[island.dataset.component];
    if (hydrateIsland) {
      await hydrateIsland(island);
    } else {
      console.error(`no WASM function for the island ${island.dataset.component}`);
    }
  }
})
