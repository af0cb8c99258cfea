"""Seasons (卒年度): a company runs 27卒 and 28卒 side by side; students and their season's work belong to one."""
