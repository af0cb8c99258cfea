"""The booking rush: the students' hot path, the waiting room and the rush figures."""
