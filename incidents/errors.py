"""Domain errors of the incidents app; views turn them into a 4xx with the Japanese message."""


class IncidentError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
