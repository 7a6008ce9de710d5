"""The Colab setup cell: python -m tools.make_student_edition puts everything below this docstring, as one code cell,
at the top of every notebook of the student edition (not copied into the edition as a file).

The builder fills in COURSE_URL (its --colab-url: where Colab clones the edition from; "" without it, and the cell
then says so in Colab and does nothing) and NOTEBOOK_FOLDER (the notebook's folder in the edition). Outside Colab
(`google.colab` not imported: Colab's kernels import it at start) the cell does nothing and prints nothing. In Colab
it clones the edition into /content/<name> once per runtime, installs it editable with pip's default strategy
(what is missing or outside the package's ranges is added; Colab's torch and the rest stay: no --upgrade, no
--force-reinstall, no constraints, no restart; build isolation, because the edition's pyproject needs setuptools
>= 77 and Colab's own may be older), makes `import mmembed` work in the running kernel, changes the working
directory, and names the embedding cache's folder. MMEMBED_COLAB_ROOT replaces /content: it is for
tests/edition/test_colab.py. The cell is plain Python for students to read, with Korean comments and output.
"""

# Colab에서 이 노트북을 열었을 때 필요한 준비입니다. 내 컴퓨터나 JupyterHub에서는 아무 일도 하지 않습니다.
# Colab에서는 강의 자료를 내려받아 설치하고, 작업 폴더를 이 노트북의 폴더로 옮기고, 임베딩 캐시의 위치를 알려 줍니다.
import sys

COURSE_URL = ""  # 강의 자료(학생용)를 내려받을 git 주소
NOTEBOOK_FOLDER = "lectures"  # 강의 자료 안에서 이 노트북이 있는 폴더
IN_COLAB = "google.colab" in sys.modules  # Colab은 커널을 시작할 때 google.colab을 불러 둡니다

if IN_COLAB and not COURSE_URL:
    print("[Colab 준비] 이 노트북에는 강의 자료의 주소가 없어서 아무것도 하지 않았습니다. 교수자에게 물어보세요.")
elif IN_COLAB:
    import importlib
    import os
    import subprocess
    from pathlib import Path

    # (1) 내려받기: 런타임마다 한 번만. 보통 /content 아래에 받습니다 (MMEMBED_COLAB_ROOT가 있으면 그 폴더).
    name = COURSE_URL.rstrip("/").split("/")[-1].removesuffix(".git")  # 주소의 마지막 부분이 폴더 이름이 됩니다
    course = Path(os.environ.get("MMEMBED_COLAB_ROOT", "/content")) / name
    if not (course / ".git").is_dir():
        print(f"[Colab 준비] 강의 자료를 {course}에 내려받습니다.")
        subprocess.run(["git", "clone", "--quiet", "--depth", "1", COURSE_URL, str(course)], check=True)

    # (2) 설치: mmembed를 편집 모드(-e)로 설치합니다. Colab에 이미 있는 패키지(torch 등)는 그대로 쓰고,
    #     없거나 강의가 요구하는 버전 범위를 벗어난 것만 더합니다. 런타임을 다시 시작할 필요는 없습니다.
    installed = course / ".git" / "colab-installed"  # 설치를 마쳤다는 표시
    if not installed.exists():
        print("[Colab 준비] mmembed와 아직 없는 패키지를 설치합니다 (1-2분).")
        pip = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--editable", f"{course}[colab]"], capture_output=True, text=True
        )
        if pip.returncode != 0:
            print(pip.stdout[-3000:], pip.stderr[-3000:], sep="\n")
            raise RuntimeError("[Colab 준비] 설치에 실패했습니다. 위에 나온 pip의 메시지를 보세요.")
        for line in pip.stdout.splitlines():
            if line.startswith("Successfully installed"):
                print("[Colab 준비] 새로 설치한 패키지:", line.removeprefix("Successfully installed").strip())
        installed.touch()

    # (3) 이 커널에서 바로 import mmembed가 되게 하고, 작업 폴더를 이 노트북의 폴더로 옮깁니다.
    if str(course) not in sys.path:
        sys.path.insert(0, str(course))
    importlib.invalidate_caches()
    os.chdir(course / NOTEBOOK_FOLDER)
    print(f"[Colab 준비] 작업 폴더: {os.getcwd()}")

    # (4) 임베딩 캐시: 한 번 계산한 사진의 임베딩을 저장해 두었다가 다시 씁니다.
    from mmembed.cache import cache_dir

    print(f"[Colab 준비] 임베딩 캐시: {cache_dir()} (Colab 런타임이 끝나면 이 폴더도 함께 지워집니다)")
