from django.urls import path

from sessions_store import views

urlpatterns = [
    path("sessions/", views.SessionListView.as_view(), name="sessions"),
    path("sessions/<uuid:session_id>/", views.SessionDetailView.as_view(), name="session-detail"),
    path("logout-all/", views.LogoutAllView.as_view(), name="logout-all"),
]
