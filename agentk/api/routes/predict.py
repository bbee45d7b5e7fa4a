"""Predictions from a run's model: its distilled student where it has one, else the model it submitted with."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, Field

from agentk.agent.predict import ModelCache, run_model_path
from agentk.api.deps import RunDep
from agentk.api.errors import ApiError, responses
from agentk.errors import UserInputError

router = APIRouter(prefix="/api/runs", tags=["predict"], responses=responses(401))

MAX_ROWS = 100_000
_CACHE = ModelCache()
_ROW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "One input row: the id column and the columns the model was trained on.",
    "additionalProperties": {"type": ["string", "number", "integer", "boolean", "null"]},
}
_BODY = {
    "required": True,
    "content": {
        "text/csv": {"schema": {"type": "string", "description": "A CSV file with a header row."}},
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["rows"],
                "additionalProperties": False,
                "properties": {"rows": {"type": "array", "minItems": 1, "maxItems": MAX_ROWS, "items": _ROW_SCHEMA}},
            }
        },
    },
}


class PredictionsPublic(BaseModel):
    """Predictions for the posted rows, in the competition's submission format."""

    model: Literal["student", "model"] = Field(description="What served them: the run's student or its model.")
    columns: list[str] = Field(description="The submission columns (the id column first).")
    rows: int
    predictions: list[dict[str, Any]] = Field(description="One object per input row, in input order.")


@router.post(
    "/{run_id}/predict",
    response_model=PredictionsPublic,
    responses=responses(400, 404, 409, 413, 415, 422),
    openapi_extra={"requestBody": _BODY},
)
async def predict(
    run: RunDep, request: Request, content_type: Annotated[str | None, Header(include_in_schema=False)] = None
) -> PredictionsPublic:
    """Predict rows (CSV body or JSON ``{"rows": [...]}``) with the run's student, else its model."""
    found = run_model_path(Path(run.out_dir))
    if found is None:
        raise ApiError(
            409,
            "no_model",
            f"run {run.id} has no model to predict with",
            hint="wait until the run has SUCCEEDED; runs that finish without a fitted model cannot predict",
        )
    frame = _parse(await request.body(), (content_type or "").split(";")[0].strip().lower())
    kind, path = found
    try:
        out = await asyncio.to_thread(_predict, path, frame)
    except UserInputError as exc:
        raise ApiError(422, "bad_input", exc.message, hint=exc.hint) from None
    records = json.loads(out.to_json(orient="records"))  # plain JSON values (no numpy scalars), NaN as null
    return PredictionsPublic(model=kind, columns=[str(c) for c in out.columns], rows=len(out), predictions=records)


def _predict(path: Path, frame: pd.DataFrame) -> pd.DataFrame:
    _, model = _CACHE.get(path)
    return model.predict_frame(frame)


def _parse(body: bytes, media: str) -> pd.DataFrame:
    """The request body as a raw input frame (what ``test.csv`` would give), or a 4xx that says why not."""
    if not body.strip():
        raise ApiError(422, "bad_input", "the request body is empty")
    if media in ("text/csv", "application/csv", "text/plain"):
        try:
            frame = pd.read_csv(io.BytesIO(body), low_memory=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error, UnicodeDecodeError, ValueError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ApiError(422, "bad_input", f"the body is not a well-formed CSV file: {first[:300]}") from None
    elif media == "application/json":
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(422, "bad_input", "the body is not valid JSON") from None
        rows = payload.get("rows") if isinstance(payload, dict) else None
        if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
            raise ApiError(422, "bad_input", 'the JSON body must be {"rows": [{column: value, ...}, ...]}')
        if len(rows) > MAX_ROWS:
            raise ApiError(413, "too_many_rows", f"at most {MAX_ROWS} rows per request")
        frame = pd.DataFrame.from_records(rows)
    else:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"cannot read a {media or 'body with no content type'}",
            hint="send text/csv or application/json",
        )
    if len(frame) > MAX_ROWS:
        raise ApiError(413, "too_many_rows", f"at most {MAX_ROWS} rows per request")
    if frame.empty:
        raise ApiError(422, "bad_input", "the body has no rows")
    return frame
