from django.urls import include, path

# /auth/login/, /auth/user/, /auth/token/refresh/ (USE_JWT), /auth/logout/ ...
urlpatterns = [path("auth/", include("dj_rest_auth.urls"))]
