"""Evaluations of a pretrained encoder: linear probe and fine-tuning.

Both train on synthetic labels only, select the epoch on held-out synthetic data
(or fix the schedule) and score the eval split by macro F1, the ABAW metric.
"""
