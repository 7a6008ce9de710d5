"""퀴즈 3-6: 사진 200장에서 텍스트로 검색하기 (04강).

04강에서 한 일을 함수 네 개로 나눠 직접 작성합니다.
  퀴즈 3  load_images   images/quiz-image/의 사진 200장을 val_0, val_1, ..., val_199 순서로 불러오기
  퀴즈 4  embed_images  사진들을 32장씩 배치로 임베딩하기 -> (200, 512)
  퀴즈 5  embed_text    문장 하나를 임베딩하기 -> (1, 512)
  퀴즈 6  search_top1   코사인 유사도가 가장 큰 사진의 파일 이름 찾기

mmembed의 함수(mmembed.load_images, mmembed.embed_images, ...)를 부르지 말고 PIL, torch, transformers로 직접 쓰세요.
모델 불러오기(mmembed.load_clip)만 main()이 대신 해 줍니다. 채점기는 이 규칙을 검사합니다: 함수가 load_clip 말고
다른 mmembed 함수를 부르거나 이름으로 가져오면(별명, importlib, getattr로도) 그 함수의 점수는 0점입니다.

다 채운 뒤 `python quiz_search.py`를 실행하면 다음 네 줄이 나와야 합니다.
    Total 200 images are loaded!
    Image Embedding's shape: (200, 512)
    Text Embedding's shape: (1, 512)
    Top-1: <파일 이름>
함수 안에서 직접 print한 줄이 사이에 더 있어도 괜찮지만, `Top-1:`로 시작하는 줄은 main()이 출력하는 한 줄뿐이어야 합니다.
스스로 확인하기: 강의 자료 맨 위 폴더에서 `make self-check` (모양, 순서, 값, QUERY의 top-1을 확인합니다).
그 결과는 스스로 확인하는 용도이고, 점수는 교수자의 채점기가 매깁니다.
채점기는 QUERY 말고 다른 문장으로도 검사하므로, 파일 이름을 직접 써 넣으면 점수를 받을 수 없습니다.
"""

import re
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image
from tqdm.auto import tqdm

import mmembed

# 사진 폴더는 이 파일의 위치를 기준으로 찾습니다 (어느 폴더에서 실행해도 같은 곳).
IMAGE_DIR = Path(__file__).resolve().parent.parent / "images" / "quiz-image"
QUERY = "A zebra"


def load_images(image_dir=IMAGE_DIR) -> tuple[list[Image.Image], list[str]]:
    """image_dir의 사진들을 RGB PIL 이미지로 불러와 (사진 리스트, 파일 이름 리스트)를 돌려줍니다.

    파일 이름은 확장자까지 포함한 이름입니다 (path.name, 예: 'val_0.JPEG'). image_dir은 Path 객체입니다.

    순서는 파일 이름의 숫자 순서입니다: val_0, val_1, val_2, ..., val_10, ..., val_199.
    (문자열 순서로 정렬하면 val_10이 val_2보다 앞에 옵니다.)
    """
    # TODO
    raise NotImplementedError(
        "load_images를 완성하세요. 쓸 API: Path.iterdir(파일 목록), sorted(..., key=...)와 re.split(이름 속 숫자를 int로 비교), PIL.Image.open, Image.convert. mmembed.load_images는 쓸 수 없습니다."
    )


def embed_images(images, model, processor) -> torch.Tensor:
    """사진 리스트를 32장씩 배치로 임베딩해서 (사진 수, 512) 텐서로 돌려줍니다 (i번째 행 = i번째 사진)."""
    # TODO
    raise NotImplementedError(
        "embed_images를 완성하세요. 쓸 API: processor(images=..., return_tensors=...), model.get_image_features(...)의 .pooler_output, torch.inference_mode, torch.cat (32장씩). mmembed.embed_images는 쓸 수 없습니다."
    )


def embed_text(text, model, processor) -> torch.Tensor:
    """문장 하나를 임베딩해서 (1, 512) 텐서로 돌려줍니다."""
    # TODO
    raise NotImplementedError(
        "embed_text를 완성하세요. 쓸 API: processor(text=..., padding=..., return_tensors=...), model.get_text_features(...)의 .pooler_output (모양 (1, 512)). mmembed.embed_texts는 쓸 수 없습니다."
    )


def search_top1(text_embedding, image_embeddings, image_filenames) -> str:
    """text_embedding과 코사인 유사도가 가장 큰 사진의 파일 이름(image_filenames 중 하나)을 돌려줍니다."""
    # TODO
    raise NotImplementedError(
        "search_top1을 완성하세요. 쓸 API: torch.nn.functional.normalize(코사인 유사도를 위해 길이 1로), 행렬 곱 @, Tensor.argmax. mmembed.search와 mmembed.top_k는 쓸 수 없습니다."
    )


def main() -> None:
    images, filenames = load_images()
    print(f"Total {len(images)} images are loaded!")

    model, processor = mmembed.load_clip()  # 인터넷이 없으면 오프라인 모델 mini를 씁니다
    image_embeddings = embed_images(images, model, processor)
    print(f"Image Embedding's shape: {tuple(image_embeddings.shape)}")

    text_embedding = embed_text(QUERY, model, processor)
    print(f"Text Embedding's shape: {tuple(text_embedding.shape)}")

    print(f"Top-1: {search_top1(text_embedding, image_embeddings, filenames)}")


if __name__ == "__main__":
    main()
