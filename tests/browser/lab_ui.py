"""What a student does in JupyterLab, done with Playwright, and what the page then shows.

Every action goes through Lab's own interface (file browser, menus, cell editors); the page is only *read* with
JavaScript. The selectors are JupyterLab 4's.
"""

import time

from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

# The notebook in the front tab of the main area.
NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"
KERNEL_STARTUP_MS = 90_000

# Finished when the kernel is idle and no cell waits for it ("[*]:"); a dead kernel also ends the wait.
RUN_FINISHED = """(notebook) => {
  const panel = document.querySelector(notebook);
  const status = panel.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status;
  if (status === 'dead') return 'dead';
  const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent);
  return status === 'idle' && !prompts.some(p => p.includes('*')) ? 'idle' : false;
}"""

# How far the notebook's cells reach, and how much of it the window shows (scrolled to the top).
NOTEBOOK_HEIGHTS = """(notebook) => {
  const scroller = document.querySelector(notebook + ' .jp-WindowedPanel-outer');
  scroller.scrollTop = 0;
  const top = scroller.getBoundingClientRect().top;
  const bottoms = [...scroller.querySelectorAll('.jp-Cell, .jp-Notebook-footer')]
    .map(element => element.getBoundingClientRect().bottom);
  return {content: Math.ceil(Math.max(...bottoms) - top) + 16, visible: scroller.clientHeight};
}"""

# Each cell as the page shows it: kind, prompt, and every output with its MIME type, text, images and widgets.
CELLS = """(notebook) => [...document.querySelectorAll(notebook + ' .jp-Cell')].map(cell => ({
  kind: cell.classList.contains('jp-CodeCell') ? 'code'
    : cell.classList.contains('jp-MarkdownCell') ? 'markdown' : 'raw',
  prompt: cell.querySelector('.jp-InputPrompt')?.textContent.trim() ?? '',
  outputs: [...cell.querySelectorAll('.jp-OutputArea-output')].map(output => ({
    mime: output.dataset.mimeType ?? '',
    text: output.innerText,
    images: [...output.querySelectorAll('img')].map(img => ({
      loaded: img.complete && img.naturalWidth > 0,
      shown: img.getBoundingClientRect().width > 0 && img.getBoundingClientRect().height > 0,
    })),
    bars: [...output.querySelectorAll('.jupyter-widgets .progress-bar')].map(bar => ({
      width: bar.style.width, style: bar.className,
    })),
  })),
}))"""

# Words of Korean prose (runs of Hangul syllables in a paragraph's or list item's own text, regular weight,
# on one line) with their boxes in page coordinates: the regions the Korean-rendering check crops.
HANGUL_WORDS = """([container, limit]) => {
  const words = [];
  for (const element of document.querySelectorAll(container + ' :is(p, li)')) {
    const style = getComputedStyle(element);
    if (style.fontWeight !== '400' || style.fontStyle !== 'normal') continue;
    for (const node of element.childNodes) {
      if (node.nodeType !== Node.TEXT_NODE) continue;
      for (const match of node.textContent.matchAll(/[\\uAC00-\\uD7A3]{2,}/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const boxes = range.getClientRects();
        if (boxes.length !== 1) continue;
        const box = boxes[0];
        words.push({text: match[0], x: box.x, y: box.y, width: box.width, height: box.height,
                    font_size: parseFloat(style.fontSize)});
        if (words.length >= limit) return words;
      }
    }
  }
  return words;
}"""


def open_lab(page: Page, lab, workspace: str):
    page.goto(lab.lab_url(workspace))
    page.locator(".jp-DirListing-content").wait_for()


def open_from_file_browser(page: Page, relative_path: str):
    """Double-click through the file browser from its top folder, then wait for the notebook's kernel."""
    page.locator(".jp-BreadCrumbs-home").first.click()
    listing = page.locator(".jp-DirListing-content")
    for name in relative_path.split("/"):
        listing.get_by_text(name, exact=True).dblclick()
    notebook_name = relative_path.rsplit("/", 1)[-1]
    page.locator(f"{NOTEBOOK}").wait_for()
    page.locator(".lm-TabBar-tab.jp-mod-current", has_text=notebook_name).wait_for()
    idle = page.locator(f"{NOTEBOOK} .jp-Notebook-ExecutionIndicator[data-status='idle']")
    dialog = page.locator(".jp-Dialog")
    deadline = time.monotonic() + KERNEL_STARTUP_MS / 1000
    # Before a kernel is chosen the indicator also says idle, next to "No Kernel".
    while kernel_name(page) in ("", "No Kernel") or not idle.is_visible():
        if dialog.is_visible():  # e.g. "Select Kernel": the notebook's kernel was not found
            raise AssertionError(f"opening {relative_path} asked: {dialog.inner_text()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"the kernel of {relative_path} did not start within {KERNEL_STARTUP_MS // 1000} s")
        page.wait_for_timeout(200)


def close_notebook(page: Page):
    """File > Close Tab; unsaved changes (there should be none) are discarded."""
    choose_menu(page, "File", "Close Tab")
    discard = page.locator(".jp-Dialog").get_by_role("button", name="Discard")
    deadline = time.monotonic() + 10
    while page.locator(NOTEBOOK).count():
        if discard.is_visible():
            discard.click()
        if time.monotonic() > deadline:
            raise AssertionError("the notebook's tab did not close")
        page.wait_for_timeout(100)


def kernel_name(page: Page) -> str:
    return page.locator(f"{NOTEBOOK} .jp-KernelName").inner_text().strip()


def choose_menu(page: Page, menu: str, item: str):
    """Click a menu in the menu bar, then one of its items (e.g. Run > Run All Cells)."""
    page.locator(".lm-MenuBar-item").get_by_text(menu, exact=True).click()
    page.locator(".lm-Menu-item").get_by_text(item, exact=True).click()


def run_all(page: Page, seconds: float) -> tuple[bool, float]:
    """Run > Run All Cells, then wait until the kernel is idle; (finished, seconds taken)."""
    started = time.monotonic()
    choose_menu(page, "Run", "Run All Cells")
    try:
        state = page.wait_for_function(RUN_FINISHED, arg=NOTEBOOK, polling=500, timeout=seconds * 1000)
        finished = state.json_value() == "idle"
    except PlaywrightTimeout:
        finished = False
    return finished, time.monotonic() - started


def save(page: Page):
    """File > Save Notebook, then wait until the tab no longer shows unsaved changes."""
    choose_menu(page, "File", "Save Notebook")
    page.locator(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty").wait_for(state="detached")


def replace_cell_source(page: Page, index: int, source: str):
    """Click into cell `index`'s editor, select its text and put `source` in its place (as a paste would)."""
    editor = page.locator(f"{NOTEBOOK} .jp-Cell").nth(index).locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(source)  # no key events: the editor adds no indentation of its own
    page.keyboard.press("Escape")  # back to command mode, as after typing


def cells(page: Page) -> list[dict]:
    return page.evaluate(CELLS, NOTEBOOK)


def fit_window_to_notebook(page: Page, rounds: int = 8):
    """Make the window as tall as the notebook, so that a screenshot shows every cell at once.

    Cells outside the window have estimated heights until they are drawn, so this repeats until the heights agree.
    """
    for _ in range(rounds):
        heights = page.evaluate(NOTEBOOK_HEIGHTS, NOTEBOOK)
        if heights["content"] <= heights["visible"]:
            return
        viewport = page.viewport_size
        page.set_viewport_size(
            {"width": viewport["width"], "height": viewport["height"] + heights["content"] - heights["visible"]}
        )
        page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")


def screenshot_notebook(page: Page, path):
    """A screenshot of Lab with the whole notebook in view (the window is left that tall)."""
    fit_window_to_notebook(page)
    page.screenshot(path=path)


def hangul_words(page: Page, container: str, limit: int = 12) -> list[dict]:
    return page.evaluate(HANGUL_WORDS, [container, limit])
