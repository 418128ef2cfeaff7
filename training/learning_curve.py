"""Out-of-fold F1 per topic as the number of training policies grows: would more labelled data help?

Five folds grouped by policy over the train and dev splits (never test); in each fold the model is fitted
on 50 %, 75 % and 100 % of the other folds' policies (a fixed shuffle) with the shipped vectorizer and a
fixed classifier setting, and every held-out paragraph is scored. Usage: python -m training.learning_curve
"""

from __future__ import annotations

import random
import sys

from training.train_model import _classifier, _vectorizer, best_threshold, rows

FRACTIONS = (0.5, 0.75, 1.0)
TOPICS = ("sharing", "retention", "minors")
SEED = 1


def main() -> None:
    from sklearn.model_selection import GroupKFold

    data = rows("train", "dev")
    groups = [r["service"] for r in data]
    docs = [(r["text"], r["heading"]) for r in data]
    for fraction in FRACTIONS:
        scores = {t: [0.0] * len(data) for t in TOPICS}
        fitted_on = 0
        for fit_rows, held_out in GroupKFold(n_splits=5).split(docs, groups=groups):
            services = sorted({groups[i] for i in fit_rows})
            random.Random(SEED).shuffle(services)
            kept = set(services[: int(len(services) * fraction)])
            fit_rows = [i for i in fit_rows if groups[i] in kept]
            fitted_on += len(fit_rows)
            vectorizer = _vectorizer()
            x_fit = vectorizer.fit_transform([docs[i] for i in fit_rows])
            x_held = vectorizer.transform([docs[i] for i in held_out])
            for topic in TOPICS:
                y = [topic in data[i]["label"] for i in fit_rows]
                if not any(y):
                    continue
                probabilities = _classifier(4.0, True).fit(x_fit, y).predict_proba(x_held)[:, 1]
                for i, p in zip(held_out, probabilities, strict=True):
                    scores[topic][i] = float(p)
        cells = []
        for topic in TOPICS:
            _, (p, r, f) = best_threshold(scores[topic], [topic in row["label"] for row in data])
            cells.append(f"{topic} P {p:.2f} R {r:.2f} F1 {f:.3f}")
        print(f"{fraction:>4.0%} of the training policies (~{fitted_on // 5} paragraphs a fold): " + "   ".join(cells))


if __name__ == "__main__":
    sys.exit(main())
